#include "scff_layer.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <hebbkit/errors.hpp>
#include <hebbkit/initial_weights.hpp>
#include <hebbkit/linear_layers.hpp>
#include <torch/nn/functional/activation.h>

namespace hebbkit::scff {

torch::Tensor standardize(const torch::Tensor& x) {
  if (x.dim() != 2) return standardize(x.reshape({x.size(0), -1})).view(x.sizes());
  const auto centred = x - x.mean(1, /*keepdim=*/true);
  return centred / (1e-10 + x.std(1, /*unbiased=*/true, /*keepdim=*/true));
}

torch::Tensor activate(const torch::Tensor& z, Activation activation) {
  return activation == Activation::Triangle ? torch::relu(z - z.mean(1, /*keepdim=*/true)) : torch::relu(z);
}

torch::Tensor goodness(const torch::Tensor& z) { return torch::relu(z).pow(2).mean(1); }

torch::Tensor loss(const torch::Tensor& g_pos, const torch::Tensor& g_neg, const Objective& objective) {
  namespace F = torch::nn::functional;
  auto out = F::softplus(objective.theta_pos - g_pos).mean() + F::softplus(g_neg - objective.theta_neg).mean();
  if (objective.penalty != 0) {
    const auto per_row = g_pos.dim() == 1 ? g_pos.abs() : g_pos.reshape({g_pos.size(0), -1}).norm(2, 1);
    out = out + objective.penalty * per_row.mean();
  }
  return out;
}

Layers::~Layers() = default;

torch::Tensor paired_with_itself(const torch::Tensor& x) {
  const auto s = standardize(x);
  return torch::cat({s, s}, 1);
}

torch::Tensor Layers::through(torch::Tensor x, std::size_t from, std::size_t to) {
  torch::NoGradGuard no_grad;
  const auto pass = [&](torch::Tensor h) {
    for (std::size_t i = from; i < to; ++i) {
      if (i > from && reads_pairs(i)) h = paired_with_itself(h);
      h = up(i, preactivation(i, h));
    }
    return h;
  };
  const std::int64_t chunk = chunk_rows();
  if (from == to || chunk == 0 || x.size(0) <= chunk) return pass(x);
  std::vector<torch::Tensor> parts;
  for (std::int64_t start = 0; start < x.size(0); start += chunk)
    parts.push_back(pass(x.slice(0, start, std::min(x.size(0), start + chunk))));
  return torch::cat(parts, 0);
}

void Stack::add(std::int64_t inputs, std::int64_t width, torch::Device device) {
  torch::nn::Linear linear(inputs, width);
  if (!init_prefix_.empty()) {
    const std::size_t i = layers_.size();
    load_initial_state(init_prefix_, {{fmt::format("scff{}_weight", i), linear->weight},
                                      {fmt::format("scff{}_bias", i), linear->bias}});
  }
  linear->to(device);
  layers_.push_back(linear);
}

void Stack::grow(torch::Device device) {
  const std::size_t i = layers_.size();
  if (i >= widths_.size()) throw std::logic_error("scff: grow() past the planned layers");
  add(i == 0 ? inputs_ : widths_[i - 1], widths_[i], device);
}

std::string Stack::describe(std::size_t index) const {
  const auto& w = layers_.at(index)->weight;
  return fmt::format("{} units on {} values{}", w.size(0), w.size(1),
                     index == 0 ? " (a pair of images, shared weights)" : "");
}

torch::Tensor Stack::preactivation(std::size_t index, const torch::Tensor& x) {
  auto& linear = layers_.at(index);
  const auto n = standardize(x);
  if (index > 0) return linear->forward(n);
  const auto d = linear->weight.size(1);
  if (n.size(1) != 2 * d)
    throw DataError(fmt::format("scff: the first layer reads pairs of {}-value images, got rows of {}", d, n.size(1)));
  return torch::addmm(2 * linear->bias, n.slice(1, 0, d) + n.slice(1, d), linear->weight.t());
}

std::vector<torch::Tensor> Stack::features(const torch::Tensor& x) {
  std::vector<torch::Tensor> out;
  auto h = torch::cat({x, x}, 1);
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    h = activate(preactivation(i, h), activation_);
    out.push_back(standardize(h));
  }
  return out;
}

std::vector<NamedTensor> Stack::state() const { return linear_layers_state(layers_, "scff"); }

void Stack::append_from(const std::vector<NamedTensor>& state) {
  for (auto& layer : linear_layers_from(state, "scff", "scff")) layers_.push_back(layer);
}

std::vector<torch::Tensor> Stack::parameters() { return linear_layers_parameters(layers_); }

}  // namespace hebbkit::scff
