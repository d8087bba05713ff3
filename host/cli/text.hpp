// Text for people: lines wrapped at the terminal's width.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hetero::cli {

/// The width to wrap at: $COLUMNS when set, else the terminal's when stdout is one, else 100.
std::size_t text_width();

/// `head` followed by `text`, wrapped at `width` columns: every line after the first starts
/// with `indent` spaces, lines break between words (a word longer than a line stands alone),
/// and each line ends with a newline.
std::string wrapped(std::string_view head, std::string_view text, std::size_t indent,
                    std::size_t width);

}  // namespace hetero::cli
