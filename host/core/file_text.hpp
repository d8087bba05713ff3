// Whole small files (caches, /proc entries) read without a stream.
#pragma once

#include <cstddef>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>

namespace hetero::detail {

/// The content of `path` up to `limit` bytes (the whole file by default), read with plain
/// read(2) calls: no stream, buffer or locale is set up, which in a short process costs more
/// than reading a small file. Works on /proc files (whose size is not known up front), and a
/// limit there spares the kernel generating the rest. nullopt when it cannot be opened or read.
std::optional<std::string> read_file_text(
    const std::filesystem::path& path, std::size_t limit = std::numeric_limits<std::size_t>::max());

}  // namespace hetero::detail
