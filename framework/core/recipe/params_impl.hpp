#pragma once
// The host's side of hebbkit::Params: a validated, default-filled YAML node plus the
// recipe origins needed to point at a key.
#include <memory>
#include <string>

#include <yaml-cpp/yaml.h>

#include "hebbkit/params.hpp"
#include "recipe/document.hpp"

namespace hebbkit {

struct Params::Impl {
  std::string path;        // e.g. "layers.0.rule"
  YAML::Node values;       // every declared key (given or default), nothing else
  ParamSchema schema;
  std::shared_ptr<const recipe::Document> document;  // for where(); may be null
};

}  // namespace hebbkit
