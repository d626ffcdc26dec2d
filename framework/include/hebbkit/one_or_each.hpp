#pragma once
// Keys that hold a list with one value for every layer (or block) or one value per layer:
// one check of the list's length and one way to read item i, for every plugin that has
// such keys (scff's per-layer settings, backprop's conv blocks).
#include <cstddef>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hebbkit/params.hpp"

namespace hebbkit {

/// values[0] when the list holds one value, values[i] otherwise.
template <class T>
T one_or_each(const std::vector<T>& values, std::size_t i) {
  return values.size() == 1 ? values.front() : values.at(i);
}

/// Fails at `key` unless `given` is 1 or `count`: "give a list of one value (for every
/// layer) or of one per layer (2); got 3", with `item` = "layer".
inline void check_one_or_each(const Params& p, const std::string& key, std::size_t given, std::size_t count,
                              const std::string& item) {
  if (given != 1 && given != count)
    p.fail(key, fmt::format("give a list of one value (for every {0}) or of one per {0} ({1}); got {2}", item, count,
                            given));
}

}  // namespace hebbkit
