#include <cerrno>
#include <cstring>
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
  // Only a file written whole is renamed into place; a failed one leaves no temporary behind.
  const auto fail = [&](const std::string& what, int error) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw std::runtime_error(fmt::format("{}: {}{}{}", file.string(), what, error ? ": " : "",
                                         error ? std::strerror(error) : ""));
  };
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail("cannot write (does the folder exist?)", errno);
    errno = 0;
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) fail("write failed", errno ? errno : ENOSPC);
    out.close();
    if (!out) fail("write failed", errno ? errno : ENOSPC);
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) fail("cannot move into place: " + ec.message(), 0);
}

}  // namespace hebbkit::io
