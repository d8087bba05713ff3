// Wrapping text at the terminal's width.
#include "cli/text.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>

namespace hetero::cli {

std::size_t text_width() {
  constexpr std::size_t kDefault = 100;
  constexpr std::size_t kNarrowest = 40;
  if (const char* columns = std::getenv("COLUMNS"); columns != nullptr && *columns != '\0') {
    char* end = nullptr;
    const unsigned long value = std::strtoul(columns, &end, 10);
    if (*end == '\0' && value >= kNarrowest) return value;
  }
  winsize size{};
  if (isatty(STDOUT_FILENO) == 1 && ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 &&
      size.ws_col >= kNarrowest) {
    return size.ws_col;
  }
  return kDefault;
}

std::string wrapped(std::string_view head, std::string_view text, std::size_t indent,
                    std::size_t width) {
  std::string out(head);
  std::size_t column = head.size();
  bool line_has_word = false;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t begin = text.find_first_not_of(' ', at);
    if (begin == std::string_view::npos) break;
    const std::size_t end = std::min(text.find(' ', begin), text.size());
    const std::string_view word = text.substr(begin, end - begin);
    if (line_has_word && column + 1 + word.size() > width) {
      out += '\n';
      out.append(indent, ' ');
      column = indent;
      line_has_word = false;
    }
    if (line_has_word) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    line_has_word = true;
    at = end;
  }
  out += '\n';
  return out;
}

}  // namespace hetero::cli
