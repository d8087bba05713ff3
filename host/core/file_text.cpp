// Whole small files read without a stream.
#include "file_text.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <array>
#include <cerrno>

namespace hetero::detail {

std::optional<std::string> read_file_text(const std::filesystem::path& path, std::size_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  // Read through a stack buffer: the string grows by what arrived, with no zero-filled slack
  // (which in a short process costs a page fault per 4 KiB).
  std::array<char, 4096> chunk;
  std::string text;
  bool failed = false;
  while (text.size() < limit) {
    const ssize_t got = ::read(fd, chunk.data(), std::min(chunk.size(), limit - text.size()));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      failed = got < 0;
      break;
    }
    text.append(chunk.data(), static_cast<std::size_t>(got));
  }
  ::close(fd);
  if (failed) return std::nullopt;
  return text;
}

}  // namespace hetero::detail
