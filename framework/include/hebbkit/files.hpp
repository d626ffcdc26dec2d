#pragma once
// Files without tensors: atomic replacement and safe names (tensor files: hebbkit/io.hpp).
#include <filesystem>
#include <string>

namespace hebbkit::io {

/// Writes `content` to a temporary file beside `file`, then renames it into place, so a
/// reader never sees a half-written file.
void write_atomic(const std::filesystem::path& file, const std::string& content);

/// `text` with every character other than letters, digits, '-' and '_' replaced by '_'.
std::string file_safe(std::string text);

}  // namespace hebbkit::io
