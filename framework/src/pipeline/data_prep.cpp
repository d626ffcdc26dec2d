#include "pipeline/data_prep.hpp"

#include <cstdlib>

#include <fmt/format.h>
#include <torch/torch.h>

#include "hebbkit/errors.hpp"

namespace hebbkit::pipeline {

Preprocessor::Preprocessor(std::vector<std::string> steps) : steps_(std::move(steps)) {}

void Preprocessor::fit(const torch::Tensor& train_images) {
  torch::NoGradGuard no_grad;
  means_.assign(steps_.size(), {});
  stds_.assign(steps_.size(), {});
  torch::Tensor x = train_images;
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    if (steps_[i] == "standardize") {
      // Per channel for (N, C, H, W), per feature for (N, D); on the output of earlier steps.
      std::vector<std::int64_t> dims{0};
      for (std::int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
      means_[i] = x.mean(dims, /*keepdim=*/true).squeeze(0);
      stds_[i] = x.std(dims, /*unbiased=*/false, /*keepdim=*/true).squeeze(0).clamp_min(1e-8);
    }
    x = apply_step(i, x);
  }
}

torch::Tensor Preprocessor::apply(const torch::Tensor& images) const {
  torch::Tensor x = images;
  for (std::size_t i = 0; i < steps_.size(); ++i) x = apply_step(i, x);
  return x;
}

torch::Tensor Preprocessor::apply_step(std::size_t i, const torch::Tensor& x) const {
  const auto& step = steps_[i];
  if (step == "flatten") return x.flatten(1);
  if (step == "center") {
    std::vector<std::int64_t> dims;
    for (std::int64_t d = 1; d < x.dim(); ++d) dims.push_back(d);
    return x - x.mean(dims, /*keepdim=*/true);
  }
  if (step == "unit_norm") {
    const auto norms = x.flatten(1).norm(2, {1}).clamp_min(1e-12);
    std::vector<std::int64_t> shape(x.dim(), 1);
    shape[0] = x.size(0);
    return x / norms.view(shape);
  }
  if (step == "standardize") {
    if (means_.size() <= i || !means_[i].defined()) throw std::logic_error("Preprocessor: standardize used before fit()");
    return (x - means_[i].to(x.device())) / stds_[i].to(x.device());
  }
  throw std::logic_error("Preprocessor: unknown step " + step);
}

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

std::filesystem::path resolve_data_root(const recipe::DataOptions& options) {
  if (!options.root.empty()) return options.root;
  if (const char* env = std::getenv("HEBBKIT_DATA"); env && *env) return env;
  return std::filesystem::path(HEBBKIT_SOURCE_DIR) / "datasets" / "cache";
}

}  // namespace hebbkit::pipeline
