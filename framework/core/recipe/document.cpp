#include "recipe/document.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "hebbkit/errors.hpp"

namespace hebbkit::recipe {
namespace fs = std::filesystem;

namespace {

std::string mark_text(const fs::path& file, const YAML::Mark& mark) {
  return fmt::format("{}:{}:{}", file.string(), mark.line + 1, mark.column + 1);
}

// Records the origin of every key and list element below `node`.
void record_origins(const YAML::Node& node, const std::string& path, const fs::path& file,
                    std::map<std::string, std::string>& origins) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      const std::string child = join(path, kv.first.Scalar());
      origins[child] = mark_text(file, kv.first.Mark());
      record_origins(kv.second, child, file, origins);
    }
  } else if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string child = join(path, std::to_string(i));
      origins[child] = mark_text(file, node[i].Mark());
      record_origins(node[i], child, file, origins);
    }
  }
}

// yaml-cpp keeps every pair of a map, and lookups find the first: a key written twice
// would silently lose its second value. Refused with both places.
void refuse_duplicate_keys(const YAML::Node& node, const std::function<std::string(const YAML::Mark&)>& where) {
  if (node.IsMap()) {
    std::map<std::string, YAML::Mark> seen;
    for (const auto& kv : node) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
      if (const auto it = seen.find(key); it != seen.end())
        throw RecipeError(fmt::format("{}: key '{}' appears twice in one map (first at {}); keep one of them",
                                      where(kv.first.Mark()), key, where(it->second)));
      seen.emplace(key, kv.first.Mark());
      refuse_duplicate_keys(kv.second, where);
    }
  } else if (node.IsSequence()) {
    for (const auto& element : node) refuse_duplicate_keys(element, where);
  }
}

// A list index or depth: digits only (stoul would read "-1" as 18446744073709551615).
bool is_digits(const std::string& text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

void erase_below(std::map<std::string, std::string>& origins, const std::string& path) {
  auto it = origins.lower_bound(path + ".");
  while (it != origins.end() && it->first.rfind(path + ".", 0) == 0) it = origins.erase(it);
}

// Deep merge of maps, child over base; any other node replaces the base's whole.
void merge_into(YAML::Node base, const YAML::Node& child, const std::string& path,
                const std::map<std::string, std::string>& child_origins,
                std::map<std::string, std::string>& origins) {
  for (const auto& kv : child) {
    const std::string key = kv.first.Scalar();
    const std::string child_path = join(path, key);
    if (auto found = child_origins.find(child_path); found != child_origins.end())
      origins[child_path] = found->second;
    YAML::Node existing = base[key];
    if (existing.IsMap() && kv.second.IsMap()) {
      merge_into(existing, kv.second, child_path, child_origins, origins);
    } else {
      base[key] = YAML::Clone(kv.second);
      erase_below(origins, child_path);
      for (auto it = child_origins.lower_bound(child_path + ".");
           it != child_origins.end() && it->first.rfind(child_path + ".", 0) == 0; ++it)
        origins[it->first] = it->second;
    }
  }
}

// A recipe is a page of YAML; these bound what a mistaken or hostile file can cost.
constexpr std::size_t max_recipe_bytes = 1 << 20;
constexpr std::size_t max_recipe_nodes = 100000;

// Counts nodes as a reader sees them, each alias expanded, and stops past the limit: a
// few lines of aliases inside aliases ("billion laughs") would otherwise expand without end.
void bound_expansion(const YAML::Node& node, std::size_t& count, const fs::path& file) {
  if (++count > max_recipe_nodes)
    throw RecipeError(fmt::format("{}: the recipe expands to more than {} YAML nodes (aliases repeated inside "
                                  "aliases?); a recipe is not that large",
                                  file.string(), max_recipe_nodes));
  if (node.IsMap()) {
    for (const auto& kv : node) {
      bound_expansion(kv.first, count, file);
      bound_expansion(kv.second, count, file);
    }
  } else if (node.IsSequence()) {
    for (const auto& element : node) bound_expansion(element, count, file);
  }
}

// YAML 1.1's merge key, which yaml-cpp reads as a plain key "<<": `{<<: *base, lr: 0.1}`
// takes every key of `base` (or of each map in a list, the first winning) that the map
// does not set itself.
void expand_merge_keys(YAML::Node node, const fs::path& file) {
  if (node.IsSequence()) {
    for (auto element : node) expand_merge_keys(element, file);
    return;
  }
  if (!node.IsMap()) return;
  for (auto kv : node) expand_merge_keys(kv.second, file);
  const YAML::Node merged = node["<<"];
  if (!merged) return;
  std::vector<YAML::Node> sources;
  if (merged.IsMap()) sources.push_back(merged);
  if (merged.IsSequence())
    for (const auto& element : merged) sources.push_back(element);
  if (sources.empty() || std::any_of(sources.begin(), sources.end(), [](const YAML::Node& n) { return !n.IsMap(); }))
    throw RecipeError(fmt::format("{}: merge key '<<' takes a map or a list of maps (e.g. <<: *base)",
                                  mark_text(file, merged.Mark())));
  node.remove("<<");
  for (const auto& source : sources)
    for (const auto& kv : source)
      if (!node[kv.first.Scalar()]) node[kv.first.Scalar()] = kv.second;
}

// A copy with no node shared: an alias becomes its own copy, so that `--set` on one use
// of an anchor never changes another.
YAML::Node deep_copy(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      YAML::Node out(node.Scalar());
      out.SetTag(node.Tag());
      return out;
    }
    case YAML::NodeType::Sequence: {
      YAML::Node out(YAML::NodeType::Sequence);
      for (const auto& element : node) out.push_back(deep_copy(element));
      return out;
    }
    case YAML::NodeType::Map: {
      YAML::Node out(YAML::NodeType::Map);
      for (const auto& kv : node) out.force_insert(deep_copy(kv.first), deep_copy(kv.second));
      return out;
    }
    case YAML::NodeType::Null:
      return YAML::Node(YAML::NodeType::Null);
    default:
      return YAML::Node();
  }
}

std::string read_bounded(const fs::path& file, const std::string& who) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) throw RecipeError(fmt::format("{} is a directory, not a YAML file", who));
  if (fs::exists(file, ec) && !fs::is_regular_file(file, ec))
    throw RecipeError(fmt::format("{} is not a regular file (a device, pipe or socket?); a recipe is a YAML file", who));
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    const int err = errno;
    if (!fs::exists(file, ec)) throw RecipeError(fmt::format("{} not found", who));
    throw RecipeError(fmt::format("{} cannot be read: {}", who, std::strerror(err)));
  }
  std::string text(max_recipe_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_recipe_bytes)
    throw RecipeError(fmt::format("{} is larger than {} MiB; a recipe is a page of YAML", who, max_recipe_bytes >> 20));
  return text;
}

YAML::Node parse_file(const fs::path& file, const std::string& referrer) {
  const std::string who = referrer.empty() ? file.string() + ": recipe file"
                                           : fmt::format("{}: extends: file '{}'", referrer, file.string());
  const std::string text = read_bounded(file, who);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw RecipeError(fmt::format("{}: YAML syntax error: {}", mark_text(file, e.mark), e.msg));
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  std::size_t nodes = 0;
  bound_expansion(root, nodes, file);
  refuse_duplicate_keys(root, [&](const YAML::Mark& mark) { return mark_text(file, mark); });
  expand_merge_keys(root, file);
  if (!root.IsMap())
    throw RecipeError(fmt::format("{}: a recipe must be a YAML map of keys (dataset, layers, head, stages, ...)",
                                  mark_text(file, root.Mark())));
  return root;
}

void load_into(Document& doc, const fs::path& file, const std::string& referrer,
               std::set<fs::path>& visiting) {
  const fs::path canonical = fs::weakly_canonical(file);
  if (visiting.count(canonical))
    throw RecipeError(fmt::format("{}: extends: '{}' extends itself (circular extends)", referrer,
                                  file.string()));
  visiting.insert(canonical);
  YAML::Node root = parse_file(file, referrer);
  doc.chain.push_back(file);

  std::map<std::string, std::string> own;
  record_origins(root, "", file, own);

  if (const YAML::Node base = root["extends"]) {
    if (!base.IsScalar())
      throw RecipeError(fmt::format("{}: extends: expected a file name", own["extends"]));
    const fs::path base_file = file.parent_path() / base.Scalar();
    load_into(doc, base_file, own["extends"], visiting);
    root.remove("extends");
    own.erase("extends");
    merge_into(doc.root, root, "", own, doc.origins);
  } else {
    doc.root = root;
    doc.origins = own;
  }
  visiting.erase(canonical);
}

}  // namespace

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string Document::where(const std::string& path) const {
  std::string p = path;
  while (true) {
    if (auto it = origins.find(p); it != origins.end()) return it->second;
    const auto dot = p.rfind('.');
    if (dot == std::string::npos) break;
    p.erase(dot);
  }
  return file.string();
}

namespace {
void apply_depth_settings(Document& doc);
}  // namespace

Document load(const fs::path& file, const std::vector<std::string>& overrides) {
  Document doc;
  doc.file = file;
  std::set<fs::path> visiting;
  load_into(doc, file, "", visiting);
  doc.root = deep_copy(doc.root);
  for (const auto& text : overrides) apply_override(doc, text);
  if (doc.root["by_depth"]) {
    apply_depth_settings(doc);
    doc.overrides.clear();
    for (const auto& text : overrides) apply_override(doc, text);
  }
  return doc;
}

Document load_with_stages(const fs::path& file, const std::string& stages, const std::vector<std::string>& overrides) {
  Document doc = load(file);
  const std::string given = stages.empty() ? "evaluate" : stages;
  const std::string list = given.front() == '[' ? given : "[" + given + "]";
  apply_override(doc, "stages=" + list);
  doc.overrides.clear();
  doc.origins["stages"] = "--stages " + given;
  for (const auto& text : overrides) apply_override(doc, text);
  return doc;
}

namespace {

// Sets the value at `key_path` (dots between keys and list indices). `label` names the
// setting in errors and becomes the origin of what it sets ("--set head.lr=0.1").
void set_value(Document& doc, const std::string& key_path, const YAML::Node& value, const std::string& label) {
  std::vector<std::string> segments;
  std::stringstream split(key_path);
  for (std::string s; std::getline(split, s, '.');) {
    if (s.empty()) throw RecipeError(fmt::format("{}: empty key in path '{}'", label, key_path));
    segments.push_back(s);
  }

  // Note: yaml-cpp's operator= writes through a Node; reset() rebinds it.
  YAML::Node cur;
  cur.reset(doc.root);
  std::string walked;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string& seg = segments[i];
    const bool last = i + 1 == segments.size();
    if (cur.IsSequence()) {
      std::size_t index = 0;
      try {
        if (!is_digits(seg)) throw std::invalid_argument(seg);
        index = std::stoul(seg);
      } catch (const std::exception&) {
        throw RecipeError(fmt::format("{}: '{}' is a list; expected an index 0..{}, got '{}'", label, walked,
                                      cur.size() == 0 ? 0 : cur.size() - 1, seg));
      }
      if (index >= cur.size())
        throw RecipeError(fmt::format("{}: index {} is out of range: '{}' has {} entries", label, index, walked,
                                      cur.size()));
      if (last) {
        cur[index] = value;
      } else {
        YAML::Node next = cur[index];
        cur.reset(next);
      }
    } else if (cur.IsMap() || cur.IsNull()) {
      if (last) {
        cur[seg] = value;
      } else {
        if (!cur[seg]) {
          cur[seg] = YAML::Node(YAML::NodeType::Map);
          // A key the setting creates is the setting's: errors about it name it.
          doc.origins[join(walked, seg)] = label;
        }
        YAML::Node next = cur[seg];
        cur.reset(next);
      }
    } else {
      throw RecipeError(fmt::format("{}: '{}' holds a single value, not a map or list", label, walked));
    }
    walked = join(walked, seg);
  }
  erase_below(doc.origins, key_path);
  doc.origins[key_path] = label;
}

// The depth in use as the document says it (0, absent: every layer); nullopt when `depth`
// is not a number, which the resolver reports.
std::optional<std::size_t> depth_in_use(const YAML::Node& root) {
  std::int64_t depth = 0;
  if (const YAML::Node node = root["depth"]) {
    if (!node.IsScalar() || !is_digits(node.Scalar())) return std::nullopt;
    depth = node.as<std::int64_t>();
  }
  if (depth > 0) return static_cast<std::size_t>(depth);
  const YAML::Node layers = root["layers"];
  return layers && layers.IsSequence() ? layers.size() : 0;
}

// `by_depth: {N: {key.path: value, ...}}`: the settings of the depth in use, over the
// file's and under --set's (applied again after them, so a --set still wins).
void apply_depth_settings(Document& doc) {
  const YAML::Node table = doc.root["by_depth"];
  if (!table) return;
  const auto fail = [&](const std::string& path, const std::string& message) {
    throw RecipeError(fmt::format("{}: {}: {}", doc.where(path), path, message));
  };
  if (!table.IsMap())
    fail("by_depth", "expected a map from a depth to its settings, e.g. {5: {head.dropout: 0}}");
  const auto depth = depth_in_use(doc.root);
  for (const auto& entry : table) {
    const std::string key = entry.first.Scalar();
    const std::string path = join("by_depth", key);
    if (!is_digits(key) || std::stoul(key) == 0)
      fail(path, fmt::format("'{}' is not a depth (1, 2, ...)", key));
    if (!entry.second.IsMap())
      fail(path, "expected the settings for this depth as a map of key paths, e.g. {head.dropout: 0}");
    if (!depth || std::stoul(key) != *depth) continue;
    for (const auto& setting : entry.second) {
      const std::string key_path = setting.first.Scalar();
      set_value(doc, key_path, setting.second, fmt::format("{} (by_depth.{})", doc.where(join(path, key_path)), key));
    }
  }
}

}  // namespace

void apply_override(Document& doc, const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw RecipeError(fmt::format("--set {}: expected KEY=VALUE, e.g. --set layers.0.rule.p=3", text));
  const std::string key_path = text.substr(0, eq);
  const std::string value_text = text.substr(eq + 1);
  if (value_text.find_first_not_of(" \t") == std::string::npos)
    throw RecipeError(fmt::format("--set {}: the value is empty; give one (e.g. --set {}=3), or leave the key out for "
                                  "its default", text, text.substr(0, eq)));
  YAML::Node value;
  try {
    value = YAML::Load(value_text);
  } catch (const YAML::ParserException& e) {
    throw RecipeError(fmt::format("--set {}: the value is not valid YAML: {}", text, e.msg));
  }
  refuse_duplicate_keys(value, [&](const YAML::Mark&) { return "--set " + text; });
  set_value(doc, key_path, value, "--set " + text);
  doc.overrides.push_back(text);
}

std::string to_yaml(const YAML::Node& node) {
  YAML::Emitter out;
  out << node;
  return std::string(out.c_str()) + "\n";
}

namespace {
void collect_leaves(const YAML::Node& node, const std::string& path, std::map<std::string, std::string>& out) {
  if (node.IsMap()) {
    for (const auto& kv : node) collect_leaves(kv.second, join(path, kv.first.Scalar()), out);
  } else if (node.IsSequence()) {
    if (node.size() == 0) out[path] = "[]";
    for (std::size_t i = 0; i < node.size(); ++i) collect_leaves(node[i], join(path, std::to_string(i)), out);
  } else {
    out[path] = node.IsScalar() ? node.Scalar() : "~";
  }
}
}  // namespace

std::map<std::string, std::string> leaf_values(const YAML::Node& node, const std::string& prefix) {
  std::map<std::string, std::string> out;
  collect_leaves(node, prefix, out);
  return out;
}

}  // namespace hebbkit::recipe
