#include <fstream>
#include <system_error>

#include <fmt/format.h>
#include <unistd.h>

#include "hebbkit/files.hpp"

namespace hebbkit::io {
namespace fs = std::filesystem;

std::string file_safe(std::string text) {
  for (char& c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  return text;
}

void write_atomic(const fs::path& file, const std::string& content) {
  // The temporary name is unique per process so two writers never share it.
  const fs::path tmp = file.parent_path() / fmt::format(".{}.tmp.{}", file.filename().string(), ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(fmt::format("{}: cannot write (does the folder exist?)", tmp.string()));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) throw std::runtime_error(fmt::format("{}: write failed (disk full?)", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) {
    fs::remove(tmp);
    throw std::runtime_error(fmt::format("{}: cannot move into place: {}", file.string(), ec.message()));
  }
}

}  // namespace hebbkit::io
