#pragma once
// Where the tests find the checkout and the build tree, at run time: no path is compiled
// in, so the same objects serve every clone (and ccache shares them between clones).
#include <filesystem>
#include <stdexcept>

#include "system/system_info.hpp"

namespace hebbkit::testing {

/// The checkout this build tree was made from.
inline std::filesystem::path source_dir() {
  const auto tree = system::source_tree();
  if (!tree) throw std::runtime_error("the tests run from a build tree: lib/hebbkit/source_dir.txt is missing");
  return *tree;
}

/// The build tree: the test executables live in its bin/.
inline std::filesystem::path build_dir() {
  return std::filesystem::canonical("/proc/self/exe").parent_path().parent_path();
}

}  // namespace hebbkit::testing
