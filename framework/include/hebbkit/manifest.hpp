#pragma once
// What a plugin library exports, as the host reads it. Torch-free on purpose: the host's
// torch-free core (the plugin registry, recipes, sweeps) handles manifests without ever
// seeing a tensor. The interfaces the factories return are only declared here (they live in
// rule.hpp, head.hpp, dataset.hpp and attack.hpp); hebbkit/plugin.hpp fills a manifest.
#include <functional>
#include <memory>
#include <string>

#include "hebbkit/params.hpp"
#include "hebbkit/version.hpp"

namespace hebbkit {

class Rule;
class Head;
class Dataset;
class Attack;

enum class PluginKind { Rule, Head, Dataset, Attack };

/// "rule", "head", "dataset", "attack".
const char* to_string(PluginKind kind);

template <class T>
using Factory = std::function<std::unique_ptr<T>(const Params&)>;

/// What each plugin library exports. Exactly one factory, the one of `kind`, is set.
struct Manifest {
  int api_version = HEBBKIT_API_VERSION;
  PluginKind kind = PluginKind::Rule;
  std::string name;
  std::string summary;
  ParamSchema schema;
  Factory<Rule> make_rule;
  Factory<Head> make_head;
  Factory<Dataset> make_dataset;
  Factory<Attack> make_attack;
};

}  // namespace hebbkit
