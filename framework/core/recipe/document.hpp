#pragma once
// A recipe as loaded: the YAML tree after `extends:` merging and `--set` overrides, and
// for every key path where its value came from, so that errors can point at it.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace hebbkit::recipe {

struct Document {
  std::filesystem::path file;                 // the recipe named on the command line
  std::vector<std::filesystem::path> chain;   // file, then what it extends, recursively
  std::vector<std::string> overrides;         // the --set texts, in order
  YAML::Node root;                            // always a map
  std::map<std::string, std::string> origins; // "layers.0.rule.p" -> "r.yaml:14:7"

  /// Where the value at `path` came from: the closest recorded ancestor, else the file.
  std::string where(const std::string& path) const;
};

/// Joins key paths: join("layers", "0") == "layers.0"; join("", "seed") == "seed".
std::string join(const std::string& path, const std::string& key);

/// Loads `file`, follows `extends:` (relative to the file that names it; later files
/// override earlier ones, lists are replaced whole), then applies each `--set` text.
/// Throws RecipeError for YAML syntax errors, missing or circular extends, bad overrides.
Document load(const std::filesystem::path& file, const std::vector<std::string>& overrides = {});

/// `file` (a run's recipe.resolved.yaml) with its `stages` replaced by `stages` — names
/// separated by commas (`evaluate,plot`) or a YAML list; empty means [evaluate] — then
/// `overrides` applied: what `hebbkit evaluate` runs.
Document load_with_stages(const std::filesystem::path& file, const std::string& stages,
                          const std::vector<std::string>& overrides);

/// Applies one "a.b.0.c=VALUE" override (VALUE parsed as YAML) to `doc`.
void apply_override(Document& doc, const std::string& text);

/// Every leaf below `node` by key path ("layers.0.rule.k" -> "7"), an empty list as "[]"
/// and a null as "~": how two recipes are compared key by key.
std::map<std::string, std::string> leaf_values(const YAML::Node& node, const std::string& prefix = "");

/// The document as YAML text (what recipe.resolved.yaml holds).
std::string to_yaml(const YAML::Node& node);

}  // namespace hebbkit::recipe
