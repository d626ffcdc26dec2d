#include "data/data_prep.hpp"

#include <cstdlib>

#include <fmt/format.h>
#include <torch/types.h>

#include "hebbkit/errors.hpp"
#include "system/system_info.hpp"

namespace hebbkit::pipeline {

namespace {
Split limit(const Split& split, std::int64_t n) {
  if (n <= 0 || n >= split.size()) return split;
  return Split{split.images.slice(0, 0, n), split.labels.slice(0, 0, n)};
}
}  // namespace

PreparedData prepare_data(DatasetContent content, const recipe::DataOptions& options, std::uint64_t seed,
                          torch::Device device) {
  PreparedData data;
  data.classes = std::move(content.classes);
  Split train = limit(content.train, options.train_limit);
  data.test = limit(content.test, options.test_limit);
  if (options.validation > 0) {
    if (options.validation >= train.size())
      throw RecipeError(fmt::format("dataset.validation: {} validation samples leave none of the {} training samples",
                                    options.validation, train.size()));
    // Its own generator: the split depends on the seed only, not on what ran before.
    auto generator = at::detail::createCPUGenerator(seed);
    const auto order = torch::randperm(train.size(), generator, torch::kInt64);
    const auto keep = std::get<0>(order.slice(0, 0, train.size() - options.validation).sort());
    const auto held = std::get<0>(order.slice(0, train.size() - options.validation).sort());
    data.val = Split{train.images.index_select(0, held), train.labels.index_select(0, held)};
    train = Split{train.images.index_select(0, keep), train.labels.index_select(0, keep)};
  }
  data.train = train;
  for (Split* s : {&data.train, &data.val, &data.test})
    if (s->size() > 0) *s = Split{s->images.to(device).contiguous(), s->labels.to(device)};
  const auto sizes = data.train.images.sizes();
  data.image_shape.assign(sizes.begin() + 1, sizes.end());
  return data;
}

std::string data_root_origin(const recipe::DataOptions& options) {
  if (!options.root.empty()) return "dataset.root";
  if (const char* env = std::getenv("HEBBKIT_DATA"); env && *env) return "HEBBKIT_DATA";
  return "the default data folder";
}

std::filesystem::path resolve_data_root(const recipe::DataOptions& options) {
  if (!options.root.empty()) return options.root;
  if (const char* env = std::getenv("HEBBKIT_DATA"); env && *env) return env;
  return system::default_data_root();
}

}  // namespace hebbkit::pipeline
