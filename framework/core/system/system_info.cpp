#include "system/system_info.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include <boost/dll/runtime_symbol_info.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>

#include "system/command.hpp"

namespace hebbkit::system {
namespace fs = std::filesystem;
namespace {

std::string hex_digest(EVP_MD_CTX* ctx) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  std::string out;
  for (unsigned int i = 0; i < length; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

// The first line a command prints, "" when it fails.
std::string first_line(const std::vector<std::string>& argv) {
  const auto result = run_command(argv, 10);
  if (!result.ok()) return "";
  std::string out = result.output.substr(0, result.output.find('\n'));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

std::string sha256_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return "unreadable";
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::array<char, 1 << 16> buffer{};
  while (in) {
    in.read(buffer.data(), buffer.size());
    EVP_DigestUpdate(ctx, buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  return hex_digest(ctx);
}

std::string sha256_text(const std::string& text) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, text.data(), text.size());
  return hex_digest(ctx);
}

std::vector<std::string> loaded_blas_libraries() {
  std::set<std::string> found;
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string name = fs::path(path).filename().string();
    if (name.find("blas") != std::string::npos || name.find("lapack") != std::string::npos ||
        name.find("mkl") != std::string::npos) {
      std::error_code ec;
      const auto real = fs::canonical(path, ec);
      found.insert(ec ? path : real.string());
    }
  }
  return {found.begin(), found.end()};
}

extern const char* const build_git_commit;  // generated/build_info.cpp

std::optional<fs::path> source_tree() {
  // The framework library's own folder: build/lib in a build tree, <prefix>/lib installed.
  const fs::path lib_dir = boost::dll::this_line_location().parent_path();
  std::ifstream marker(lib_dir / "hebbkit" / "source_dir.txt");
  std::string dir;
  if (!marker || !std::getline(marker, dir) || dir.empty() || !fs::is_directory(dir)) return std::nullopt;
  return fs::path(dir);
}

fs::path default_data_root() {
  if (const auto tree = source_tree()) return *tree / "datasets" / "cache";
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return fs::path(xdg) / "hebbkit" / "datasets";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : ".") / ".local" / "share" / "hebbkit" / "datasets";
}

std::string git_commit() {
  const auto tree = source_tree();
  if (!tree) return build_git_commit;
  const std::string dir = tree->string();
  const std::string head = first_line({"git", "-C", dir, "rev-parse", "HEAD"});
  if (head.empty()) return "unknown";
  const std::string dirty = first_line({"git", "-C", dir, "status", "--porcelain", "--untracked-files=no"});
  return dirty.empty() ? head : head + "-dirty";
}

std::string host_name() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // Linux reports kilobytes
}

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace hebbkit::system
