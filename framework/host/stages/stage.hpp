#pragma once
// A stage is one step of a run (train, evaluate, attack, plot, save, ...). Each lives in
// its own file in this folder and is listed once in table.cpp; the recipe reads and
// validates its YAML from the table row, the pipeline runs it.
#include <filesystem>
#include <memory>
#include <string>


#include "hebbkit/attack.hpp"
#include "hebbkit/dataset.hpp"
#include "hebbkit/model.hpp"
#include "hebbkit/params.hpp"
#include "hebbkit/plugin.hpp"
#include "data/data_prep.hpp"
#include "model/model_store.hpp"
#include "recipe/stage_catalog.hpp"
#include "run/host_context.hpp"
#include "run/run_records.hpp"
#include "run/run_store.hpp"

namespace hebbkit::recipe {
struct Recipe;
}  // namespace hebbkit::recipe

namespace hebbkit::stages {

/// The top layer's features of the training and validation splits as a feature head was
/// trained on them: evaluate scores those splits from here instead of passing every image
/// through the stack again (4 of SoftHebb's 22 minutes on CIFAR-10). Set by train, taken by
/// evaluate; dropped by any other stage that trains.
struct HeldFeatures {
  torch::Tensor train, val;
};

/// What a running stage works with. Data flows one way: a stage asks the model, never
/// the recipe, for trained things.
struct StageEnv {
  const recipe::Recipe& recipe;
  Model& model;
  model::TrainingProgress& progress;  ///< how much of the model is trained (train updates it)
  const pipeline::PreparedData& data;
  run::HostContext& ctx;
  run::RunStore& store;
  run::RunSummary& summary;

  HeldFeatures held_features{};
  /// The run folder's model/. In a data-parallel run only the lead process (rank 0)
  /// writes it; the others train alongside and only read it (a resume's start).
  std::filesystem::path model_dir{};
  bool lead = true;

  /// Records a file written under the run folder in summary.json's `artifacts`.
  void artifact(const std::filesystem::path& file);
};

}  // namespace hebbkit::stages
