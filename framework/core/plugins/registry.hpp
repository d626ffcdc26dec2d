#pragma once
// Finds, loads and indexes plugin libraries. Libraries are never unloaded: LibTorch's
// static registries crash when a library that registered into them goes away.
#include <filesystem>
#include <string>
#include <vector>

#include "hebbkit/manifest.hpp"

namespace hebbkit::plugins {

struct Loaded {
  const Manifest* manifest = nullptr;
  std::filesystem::path file;
};

class Registry {
 public:
  /// Loads every hebbkit_*.so in `folders`, in order; a kind and name seen twice keeps the first
  /// and records a warning. Libraries that fail to load or have another API version are
  /// recorded in problems(), not fatal: a broken plugin must not hide the others.
  void scan(const std::vector<std::filesystem::path>& folders);

  /// <exe>/../lib/hebbkit/plugins (build and install trees alike), then $HEBBKIT_PLUGIN_PATH.
  static std::vector<std::filesystem::path> default_folders();

  const std::vector<Loaded>& plugins() const { return plugins_; }
  const std::vector<std::string>& problems() const { return problems_; }

  /// nullptr when absent.
  const Loaded* find(PluginKind kind, const std::string& name) const;
  const Loaded* find_any(const std::string& name) const;
  std::vector<std::string> names(PluginKind kind) const;

  /// Loads one library; throws std::runtime_error naming the file on any failure,
  /// including an API version mismatch (both versions named).
  static Loaded load_library(const std::filesystem::path& file);

 private:
  std::vector<Loaded> plugins_;
  std::vector<std::string> problems_;
};

/// Registry of the default folders, scanned once per process.
const Registry& default_registry();

}  // namespace hebbkit::plugins
