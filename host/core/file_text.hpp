// Whole small files (caches, /proc entries) read without a stream.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace hetero::detail {

/// The whole content of `path`, read with plain read(2) calls: no stream, buffer or locale is
/// set up, which in a short process costs more than reading a small file. Works on /proc files
/// (whose size is not known up front). nullopt when it cannot be opened or read.
std::optional<std::string> read_file_text(const std::filesystem::path& path);

}  // namespace hetero::detail
