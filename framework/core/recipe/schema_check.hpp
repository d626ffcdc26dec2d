#pragma once
// Validation of one recipe node against a ParamSchema: every unknown, missing, mistyped
// and out-of-range key is reported, each with its origin, before anything runs.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "hebbkit/params.hpp"
#include "recipe/document.hpp"

namespace hebbkit::recipe {

/// The closest of `candidates` to `word` if it is plausibly a typo, else "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

/// " — did you mean 'x'?" for a plausible typo of one of `candidates`, else `otherwise`.
std::string suggestion(const std::string& word, const std::vector<std::string>& candidates,
                       const std::string& otherwise = "");

/// "unknown key 'k' — did you mean ...?" or "unknown key 'k' (known keys: ...)".
std::string unknown_key_message(const std::string& key, const std::vector<std::string>& known);

/// Checks `node` (the map at `path`) against `schema`; keys in `reserved` (e.g. "name")
/// are allowed and skipped. Appends one message per problem to `errors`. Returns the
/// validated Params view (meaningful only when no error was added).
Params check_params(const std::shared_ptr<const Document>& doc, const YAML::Node& node,
                    const std::string& path, const ParamSchema& schema,
                    const std::set<std::string>& reserved, std::vector<std::string>& errors);

/// Throws one RecipeError listing every message, if there are any.
void throw_if_any(const std::vector<std::string>& errors);

}  // namespace hebbkit::recipe
