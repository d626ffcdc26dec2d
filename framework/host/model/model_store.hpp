#pragma once
// A run's model/ folder: the trained model as .npy tensors plus model.json, which says
// which plugin wrote each part and how far training got. Written after every trained
// layer and after the head, so it is also the `train` stage's checkpoint.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include "hebbkit/context.hpp"
#include "hebbkit/model.hpp"

namespace hebbkit::recipe {
struct Recipe;
}

namespace hebbkit::model {

/// How much of a model is trained: layers [0, layers_trained), then the head.
struct TrainingProgress {
  std::size_t layers_trained = 0;
  bool head_trained = false;
  bool preprocess_fitted = false;
  /// The run whose layers [0, layers_trained) were loaded (`reuse:`); empty when they are
  /// this run's own.
  std::filesystem::path reused_from;
  /// With reused_from: torch's generator continues from where that run's was after the
  /// reused layers, so what trains above them gets that run's numbers.
  bool generator_continued = false;
};

/// A fresh, untrained model with new plugin instances built from the recipe.
Model build(const recipe::Recipe& recipe);

/// Writes what `progress` says is trained into `folder` (created if needed), with torch's
/// CPU generator state, so that training can continue exactly. Every file is replaced
/// atomically and model.json is written last: a crash leaves the previous checkpoint whole.
void save(Model& model, const recipe::Recipe& recipe, const TrainingProgress& progress,
          const std::filesystem::path& folder);

/// Restores into `model` (tensors on `device`) whatever `folder` holds and returns how far it is trained. Throws
/// DataError naming the folder when a file is missing or a part was written by another
/// plugin than the recipe names. With `restore_rng`, torch's generator continues from
/// the saved state (resume); reopening for evaluation leaves it alone.
TrainingProgress load(Model& model, const recipe::Recipe& recipe, const std::filesystem::path& folder,
                      torch::Device device, bool restore_rng);

/// Restores the preprocessing and the first `count` layers of the model in `folder` — another
/// run's, for `reuse:` — leaving the head untrained. With `continue_generator` (same seed),
/// torch's generator continues from its state after those layers in that run, where saved
/// (runs before 2026-12-07 did not). Throws DataError as load() does, and when `folder`
/// holds fewer than `count` layers.
TrainingProgress load_layers(Model& model, const recipe::Recipe& recipe, const std::filesystem::path& folder,
                             std::size_t count, torch::Device device, bool continue_generator);

/// A checkpoint inside the training of one part ("layers.<i>" or "head").
struct PartialCheckpoint {
  std::string part;
  TrainingCheckpoint checkpoint;
  torch::Tensor generator_state;  ///< torch's CPU generator when it was taken
};

/// Writes `checkpoint` with torch's current generator state as folder/partial.json and
/// partial_e<epochs>_*.npy, replacing the previous one atomically (a crash at any point
/// leaves one whole checkpoint).
void save_partial(const std::filesystem::path& folder, const std::string& part, const TrainingCheckpoint& checkpoint);
/// The checkpoint in `folder`, if any; its tensors on `device`.
std::optional<PartialCheckpoint> load_partial(const std::filesystem::path& folder, torch::Device device);
/// Deletes partial_e* files except those starting with `keep_prefix`; with an empty
/// prefix, the checkpoint itself (partial.json first, so a crash never leaves it dangling).
void remove_partial_files(const std::filesystem::path& folder, const std::string& keep_prefix = "");

}  // namespace hebbkit::model
