// Whole small files read without a stream.
#include "file_text.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>

namespace hetero::detail {

std::optional<std::string> read_file_text(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  constexpr std::size_t kChunk = 16 * 1024;
  for (;;) {
    const std::size_t size = text.size();
    text.resize(size + kChunk);
    const ssize_t got = ::read(fd, text.data() + size, kChunk);
    if (got < 0 && errno == EINTR) {
      text.resize(size);
      continue;
    }
    if (got <= 0) {
      text.resize(size);
      ::close(fd);
      if (got < 0) return std::nullopt;
      return text;
    }
    text.resize(size + static_cast<std::size_t>(got));
  }
}

}  // namespace hetero::detail
