#include "model/model_store.hpp"

#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/io.hpp"
#include "recipe/recipe.hpp"
#include "system/system_info.hpp"

namespace hebbkit::model {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int format_version = 1;


// Saves each tensor as <prefix>_<name>.npy and returns {"tensors": {name: file}, "shapes":
// {name: shape}}; the shapes let a load name a file that was swapped or damaged. A trained
// part never changes, so with `keep_existing` a file already there (written whole,
// atomically, by an earlier checkpoint) is not written again.
json save_part(const fs::path& folder, const std::string& prefix, const std::vector<NamedTensor>& state,
               bool keep_existing = true) {
  json files = json::object(), shapes = json::object();
  for (const auto& [name, tensor] : state) {
    const std::string file = fmt::format("{}_{}.npy", prefix, io::file_safe(name));
    if (!keep_existing || !fs::exists(folder / file)) io::save_npy(folder / file, tensor.detach());
    files[name] = file;
    shapes[name] = tensor.sizes().vec();
  }
  return {{"tensors", files}, {"shapes", shapes}};
}

std::string shape_text(const std::vector<std::int64_t>& shape) { return fmt::format("{}", fmt::join(shape, "x")); }

// The tensors of a part; each must have the shape model.json recorded (models saved before
// 2026-12-07 recorded none).
std::vector<NamedTensor> load_part(const fs::path& folder, const json& part, torch::Device device) {
  std::vector<NamedTensor> state;
  const json shapes = part.value("shapes", json::object());
  for (const auto& [name, file] : part.at("tensors").items()) {
    const fs::path path = folder / file.get<std::string>();
    torch::Tensor tensor = io::load_npy(path);
    if (shapes.contains(name)) {
      const auto saved = shapes[name].get<std::vector<std::int64_t>>();
      if (tensor.sizes().vec() != saved)
        throw DataError(fmt::format("{}: holds a {} tensor, but the model saved '{}' as {} (model.json): the file was "
                                    "replaced or damaged",
                                    path.string(), shape_text(tensor.sizes().vec()), name, shape_text(saved)));
    }
    state.emplace_back(name, tensor.to(device));
  }
  return state;
}

json part_entry(const recipe::PluginUse& use, const json& part) {
  json entry = part;
  entry["plugin"] = use.name();
  entry["path"] = use.path;
  return entry;
}

// The saved part must come from the plugin the recipe names at that place.
void check_part(const json& entry, const recipe::PluginUse& use, const fs::path& folder) {
  const std::string saved = entry.value("plugin", "");
  if (saved != use.name())
    throw DataError(fmt::format("{}: {} was saved by plugin '{}', but the recipe names '{}'", folder.string(),
                                use.path, saved, use.name()));
}

// What the weights depend on (recipe::training_inputs) with their hash: a resume compares
// them to the recipe it continues, so an edited recipe.resolved.yaml cannot finish a run
// whose weights match neither.
json training_record(const recipe::Recipe& recipe) {
  const json values = recipe::training_inputs(recipe);
  return {{"sha256", system::sha256_text(values.dump())}, {"values", values}};
}

void check_same_training(const json& manifest, const recipe::Recipe& recipe, const fs::path& file) {
  if (!manifest.contains("trained_with")) return;  // saved before 2026-12-07: nothing to compare
  const json now = training_record(recipe);
  const json& then = manifest["trained_with"];
  if (then.value("sha256", "") == now["sha256"]) return;
  std::vector<std::string> differ;
  const json before = then.value("values", json::object());
  for (const auto& [key, value] : now["values"].items())
    if (!before.contains(key) || before[key] != value)
      differ.push_back(fmt::format("{}: {} now, {} in the checkpoint", key, value.get<std::string>(),
                                   before.contains(key) ? before[key].get<std::string>() : "absent"));
  for (const auto& [key, value] : before.items())
    if (!now["values"].contains(key)) differ.push_back(fmt::format("{}: absent now, {} in the checkpoint", key,
                                                                   value.get<std::string>()));
  throw RecipeError(fmt::format("{}: the checkpoint was trained with another recipe than the run's "
                                "recipe.resolved.yaml says now ({}); resuming would give weights that match neither. "
                                "Put the run's values back, or start a new run",
                                file.string(), fmt::join(differ, "; ")));
}

}  // namespace

Model build(const recipe::Recipe& recipe) {
  std::vector<std::unique_ptr<Rule>> layers;
  for (const auto& use : recipe.layers) layers.push_back(use.make<Rule>());
  return Model(Preprocessor(recipe.data.preprocess), std::move(layers), recipe.head.make<Head>());
}

void save(Model& model, const recipe::Recipe& recipe, const TrainingProgress& progress, const fs::path& folder) {
  fs::create_directories(folder);
  json manifest = {{"format", format_version},
                   {"layers_trained", progress.layers_trained},
                   {"head_trained", progress.head_trained},
                   {"preprocess", {{"steps", model.preprocessor().steps()}, {"fitted", progress.preprocess_fitted}}},
                   {"trained_with", training_record(recipe)}};
  if (progress.preprocess_fitted)
    manifest["preprocess"].update(save_part(folder, "preprocess", model.preprocessor().state()));
  manifest["layers"] = json::array();
  for (std::size_t i = 0; i < progress.layers_trained; ++i) {
    const std::string prefix = fmt::format("layer{}", i);
    json entry = part_entry(recipe.layers[i], save_part(folder, prefix, model.layer(i).state()));
    // The generator as this run continued from it after layer i (saved once, right then): a
    // run that reuses layers 0..i starts from it and so gets the numbers this run got above.
    const std::string generator_file = prefix + "_generator_after.npy";
    if (i + 1 == progress.layers_trained && !progress.head_trained && !fs::exists(folder / generator_file))
      io::save_npy(folder / generator_file, generator_state());
    if (fs::exists(folder / generator_file)) entry["generator_after"] = generator_file;
    manifest["layers"].push_back(std::move(entry));
  }
  if (progress.head_trained) manifest["head"] = part_entry(recipe.head, save_part(folder, "head", model.head().state()));
  // The generator as it is now, so that training continues with the same random numbers.
  io::save_npy(folder / "rng_state.npy", generator_state());
  manifest["rng_state"] = "rng_state.npy";
  io::write_atomic(folder / "model.json", manifest.dump(2) + "\n");
}

namespace {

// Which generator state a load restores: none, the newest (resume), or the one saved after
// the last layer loaded (reuse, where saved).
enum class Generator { Keep, Newest, AfterLayers };

// What load() and load_layers() share: the first `layer_count` layers (all when nullopt)
// and, with `head`, the head.
TrainingProgress load_parts(Model& model, const recipe::Recipe& recipe, const fs::path& folder, torch::Device device,
                            std::optional<std::size_t> layer_count, bool head, Generator generator) {
  const fs::path file = folder / "model.json";
  if (!fs::exists(file))
    throw DataError(fmt::format("{}: no saved model (model.json missing); was the run trained?", folder.string()));
  json manifest;
  try {
    manifest = json::parse(std::ifstream(file));
  } catch (const std::exception& e) {
    throw DataError(fmt::format("{}: unreadable: {}", file.string(), e.what()));
  }
  if (manifest.value("format", 0) != format_version)
    throw DataError(fmt::format("{}: model format {} is not the {} this hebbkit reads", file.string(),
                                manifest.value("format", 0), format_version));
  TrainingProgress progress;
  if (generator == Generator::Newest) check_same_training(manifest, recipe, file);
  try {
    const auto steps = manifest.at("preprocess").at("steps").get<std::vector<std::string>>();
    if (steps != model.preprocessor().steps())
      throw DataError(fmt::format("{}: the model was trained with preprocess [{}], the recipe says [{}]",
                                  folder.string(), fmt::join(steps, ", "), fmt::join(model.preprocessor().steps(), ", ")));
    progress.preprocess_fitted = manifest["preprocess"].value("fitted", false);
    if (progress.preprocess_fitted)
      model.preprocessor().load_state(load_part(folder, manifest["preprocess"], device));
    const auto& layers = manifest.at("layers");
    if (manifest.value("layers_trained", layers.size()) != layers.size())
      throw DataError(fmt::format("{}: says {} layers are trained but lists {}", file.string(),
                                  manifest.value("layers_trained", layers.size()), layers.size()));
    const std::size_t count = layer_count.value_or(layers.size());
    if (count > layers.size())
      throw DataError(fmt::format("{}: holds {} trained layers, {} wanted", folder.string(), layers.size(), count));
    if (count > recipe.layers.size())
      throw DataError(fmt::format("{}: holds {} trained layers, the recipe has {}", folder.string(), count,
                                  recipe.layers.size()));
    for (std::size_t i = 0; i < count; ++i) {
      check_part(layers[i], recipe.layers[i], folder);
      model.layer(i).load_state(load_part(folder, layers[i], device));
    }
    progress.layers_trained = count;
    if (head && manifest.value("head_trained", false)) {
      // The head was trained on the top layer's output: below it must be the whole stack
      // the recipe builds, or the head (and any layer left untrained) meets the wrong input.
      if (count != recipe.layers.size())
        throw DataError(fmt::format("{}: holds {} trained layer{} under its trained head, but the recipe builds {}{}",
                                    file.string(), count, count == 1 ? "" : "s", recipe.layers.size(),
                                    count < recipe.layers.size() ? " (was it trained with a smaller `depth`?)" : ""));
      check_part(manifest.at("head"), recipe.head, folder);
      model.head().load_state(load_part(folder, manifest["head"], device));
      progress.head_trained = true;
    }
    if (generator == Generator::Newest) set_generator_state(io::load_npy(folder / "rng_state.npy"));
    if (generator == Generator::AfterLayers && count > 0 && layers[count - 1].contains("generator_after")) {
      set_generator_state(io::load_npy(folder / layers[count - 1]["generator_after"].get<std::string>()));
      progress.generator_continued = true;
    }
  } catch (const json::exception& e) {
    throw DataError(fmt::format("{}: malformed: {}", file.string(), e.what()));
  } catch (const DataError& e) {
    const std::string what = e.what();
    if (what.rfind(folder.string(), 0) == 0) throw;
    throw DataError(fmt::format("{}: {}", folder.string(), what));
  }
  return progress;
}

}  // namespace

TrainingProgress load(Model& model, const recipe::Recipe& recipe, const fs::path& folder, torch::Device device,
                      bool restore_rng) {
  return load_parts(model, recipe, folder, device, std::nullopt, /*head=*/true,
                    restore_rng ? Generator::Newest : Generator::Keep);
}

TrainingProgress load_layers(Model& model, const recipe::Recipe& recipe, const fs::path& folder, std::size_t count,
                             torch::Device device, bool continue_generator) {
  auto progress = load_parts(model, recipe, folder, device, count, /*head=*/false,
                             continue_generator ? Generator::AfterLayers : Generator::Keep);
  progress.reused_from = folder.parent_path();
  return progress;
}

// partial.json names the part in training, its epochs and its files; the files carry the
// epoch count in their names, so writing a new checkpoint never touches the files the
// current partial.json points to, and partial.json is replaced last.
void save_partial(const fs::path& folder, const std::string& part, const TrainingCheckpoint& checkpoint) {
  fs::create_directories(folder);
  const std::string prefix = fmt::format("partial_e{}", checkpoint.epochs_done);
  json manifest = save_part(folder, prefix, checkpoint.tensors, /*keep_existing=*/false);
  manifest.update({{"format", format_version},
                   {"part", part},
                   {"epochs_done", checkpoint.epochs_done},
                   {"rng_state", prefix + "_rng_state.npy"}});
  io::save_npy(folder / (prefix + "_rng_state.npy"), generator_state());
  io::write_atomic(folder / "partial.json", manifest.dump(2) + "\n");
  remove_partial_files(folder, prefix);
}

std::optional<PartialCheckpoint> load_partial(const fs::path& folder, torch::Device device) {
  const fs::path file = folder / "partial.json";
  if (!fs::exists(file)) return std::nullopt;
  try {
    const json manifest = json::parse(std::ifstream(file));
    PartialCheckpoint out;
    out.part = manifest.at("part").get<std::string>();
    out.checkpoint.epochs_done = manifest.at("epochs_done").get<std::int64_t>();
    out.checkpoint.tensors = load_part(folder, manifest, device);
    out.generator_state = io::load_npy(folder / manifest.at("rng_state").get<std::string>());
    return out;
  } catch (const json::exception& e) {
    throw DataError(fmt::format("{}: malformed: {}", file.string(), e.what()));
  }
}

void remove_partial_files(const fs::path& folder, const std::string& keep_prefix) {
  if (keep_prefix.empty()) fs::remove(folder / "partial.json");
  if (!fs::exists(folder)) return;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("partial_e", 0) != 0) continue;
    if (!keep_prefix.empty() && name.rfind(keep_prefix + "_", 0) == 0) continue;
    fs::remove(entry.path());
  }
}

}  // namespace hebbkit::model
