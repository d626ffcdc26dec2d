#pragma once
// `reuse: {run: DIR, layers: N}`: a recipe's first N layers come trained from another
// run's model/ — a head or the layers above studied on one trained stack without
// training it again. Only the same layers on the same images may be reused: same rule and
// parameters, same dataset, preprocessing, validation split (and so seed) and limits.
#include <string>
#include <vector>

#include "plugins/registry.hpp"
#include "recipe/recipe.hpp"

namespace hebbkit::recipe {

/// The keys of the `reuse` map.
const ParamSchema& reuse_schema();

/// Reads `recipe.reuse->run` (its recipe.resolved.yaml and model/model.json), sets
/// `recipe.reuse->layers` when it is 0 (every layer the run trained, up to the recipe's
/// depth), and appends one message per difference to `errors`, each naming the key.
void check_reuse(Recipe& recipe, const plugins::Registry& registry, std::vector<std::string>& errors);

}  // namespace hebbkit::recipe
