#include "plugins/registry.hpp"

#include <algorithm>
#include <cstdlib>
#include <elf.h>
#include <cstring>
#include <fstream>
#include <sstream>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <fmt/format.h>

namespace hebbkit::plugins {
namespace fs = std::filesystem;

namespace {
// Deliberately leaked: destroying a shared_library would dlclose it at exit.
std::vector<boost::dll::shared_library>& keep_loaded() {
  static auto* libraries = new std::vector<boost::dll::shared_library>();
  return *libraries;
}

bool is_plugin_file(const fs::path& file) {
  const std::string name = file.filename().string();
  return name.rfind("hebbkit_", 0) == 0 && file.extension() == boost::dll::shared_library::suffix();
}

// Why `file` cannot be a shared library, or "" when it looks like one. dlopen's own
// message for an empty or foreign file is unhelpful ("Bad file descriptor"), and a library
// cut short (a partial copy) is mapped past its end: the first touch of a missing page is
// SIGBUS. So the headers are read and every loaded segment must lie inside the file.
std::string not_a_library(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return "cannot be opened";
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec) return "cannot be opened";
  Elf64_Ehdr header{};
  in.read(reinterpret_cast<char*>(&header), sizeof header);
  const auto got = static_cast<std::size_t>(in.gcount());
  if (got == 0) return "is empty, not a shared library";
  if (got < 4 || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) return "is not a shared library (no ELF header)";
  if (got < sizeof header) return fmt::format("is cut short: {} bytes, less than an ELF header", size);
  if (header.e_ident[EI_CLASS] != ELFCLASS64) return "is not a 64-bit ELF library";
  if (header.e_type != ET_DYN) return "is an ELF file but not a shared library";
  if (header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum == 0 ||
      header.e_phoff + std::uintmax_t(header.e_phnum) * sizeof(Elf64_Phdr) > size)
    return fmt::format("is cut short or damaged: its program headers lie beyond its {} bytes", size);
  in.seekg(static_cast<std::streamoff>(header.e_phoff));
  for (int i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment{};
    in.read(reinterpret_cast<char*>(&segment), sizeof segment);
    if (!in) return "cannot be read";
    if (segment.p_type == PT_LOAD && segment.p_offset + segment.p_filesz > size)
      return fmt::format("is cut short: a loaded segment ends at byte {} but the file has {} (a partial copy?)",
                         segment.p_offset + segment.p_filesz, size);
  }
  if (header.e_shoff != 0 && header.e_shoff + std::uintmax_t(header.e_shnum) * header.e_shentsize > size)
    return fmt::format("is cut short: its section headers end beyond its {} bytes (a partial copy?)", size);
  return "";
}

}  // namespace

Loaded Registry::load_library(const fs::path& file) {
  if (const std::string why = not_a_library(file); !why.empty())
    throw std::runtime_error(fmt::format("{}: cannot load plugin library: the file {}", file.string(), why));
  std::error_code ec;
  boost::dll::shared_library lib(file, boost::dll::load_mode::default_mode, ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot load plugin library: {}", file.string(), ec.message()));
  if (!lib.has("hebbkit_api_version") || !lib.has("hebbkit_manifest"))
    throw std::runtime_error(fmt::format(
        "{}: not a hebbkit plugin (no hebbkit_api_version / hebbkit_manifest symbols; "
        "register the class with HEBBKIT_PLUGIN)", file.string()));
  const int version = lib.get<const int>("hebbkit_api_version");
  if (version != HEBBKIT_API_VERSION)
    throw std::runtime_error(fmt::format(
        "{}: plugin built for hebbkit API version {}, but this hebbkit has API version {}; "
        "rebuild the plugin against this hebbkit", file.string(), version, HEBBKIT_API_VERSION));
  auto manifest_fn = lib.get<const Manifest*()>("hebbkit_manifest");
  const Manifest* manifest = manifest_fn();
  keep_loaded().push_back(std::move(lib));
  return Loaded{manifest, file};
}

void Registry::scan(const std::vector<fs::path>& folders) {
  for (const auto& folder : folders) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
      if (!is_plugin_file(entry.path())) continue;
      // A link loop or a file that vanished is reported like any bad plugin, never thrown.
      std::error_code status;
      const bool regular = entry.is_regular_file(status);
      if (status)
        problems_.push_back(fmt::format("{}: cannot load plugin library: {}", entry.path().string(), status.message()));
      else if (regular)
        files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      try {
        Loaded loaded = load_library(file);
        if (const Loaded* first = find(loaded.manifest->kind, loaded.manifest->name)) {
          problems_.push_back(fmt::format("{}: plugin '{}' ignored: already loaded from {}", file.string(),
                                          loaded.manifest->name, first->file.string()));
          continue;
        }
        plugins_.push_back(loaded);
      } catch (const std::exception& e) {
        problems_.push_back(e.what());
      }
    }
  }
}

std::vector<fs::path> Registry::default_folders() {
  std::vector<fs::path> folders;
  const fs::path exe_dir = boost::dll::program_location().parent_path();
  folders.push_back(exe_dir.parent_path() / "lib" / "hebbkit" / "plugins");  // build and install trees
  if (const char* extra = std::getenv("HEBBKIT_PLUGIN_PATH")) {
    std::stringstream list(extra);
    for (std::string item; std::getline(list, item, ':');)
      if (!item.empty()) folders.emplace_back(item);
  }
  return folders;
}

const Loaded* Registry::find(PluginKind kind, const std::string& name) const {
  for (const auto& p : plugins_)
    if (p.manifest->kind == kind && p.manifest->name == name) return &p;
  return nullptr;
}

const Loaded* Registry::find_any(const std::string& name) const {
  for (const auto& p : plugins_)
    if (p.manifest->name == name) return &p;
  return nullptr;
}

std::vector<std::string> Registry::names(PluginKind kind) const {
  std::vector<std::string> out;
  for (const auto& p : plugins_)
    if (p.manifest->kind == kind) out.push_back(p.manifest->name);
  return out;
}

const Registry& default_registry() {
  static const Registry registry = [] {
    Registry r;
    r.scan(Registry::default_folders());
    return r;
  }();
  return registry;
}

}  // namespace hebbkit::plugins
