#pragma once
#include "hebbkit/export.hpp"
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/types.h>

namespace hebbkit {

class RunContext;

/// Images and their labels. images: float32 (N, C, H, W) in [0, 1]; labels: int64 (N).
struct Split {
  torch::Tensor images;
  torch::Tensor labels;
  std::int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

/// What a dataset plugin loads: the official train and test splits and the class names
/// in label order. The host then applies the recipe's limits, validation split and
/// preprocessing, which are common to every dataset.
struct DatasetContent {
  Split train;
  Split test;
  std::vector<std::string> classes;
};

/// A dataset plugin. `root` is the data root (recipe `root:`, else $HEBBKIT_DATA, else
/// datasets/cache in a build tree, ~/.local/share/hebbkit/datasets installed); a plugin looks in its own sub-folder of it.
/// Missing or damaged files throw DataError naming the file and what to run to fetch it.
class HEBBKIT_API Dataset {
 public:
  virtual ~Dataset();
  virtual DatasetContent load(const std::filesystem::path& root, RunContext& ctx) = 0;
  /// The shape of one image, (C, H, W), when it is fixed (MNIST: 1x28x28), so that
  /// `validate` can plan the layers' memory without loading; empty when unknown.
  virtual std::vector<std::int64_t> sample_shape() const { return {}; }
};

}  // namespace hebbkit
