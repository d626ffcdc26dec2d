#include "scff_conv.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <hebbkit/errors.hpp>
#include <hebbkit/initial_weights.hpp>
#include <torch/nn/functional/padding.h>
#include <torch/nn/init.h>

namespace hebbkit::scff {

namespace {

// torch's pooled extent with ceil_mode: a last window must start inside the input or its
// left padding.
std::int64_t pooled(std::int64_t extent, const Pooling& pool) {
  if (pool.kind == PoolKind::None) return extent;
  const std::int64_t span = extent + 2 * pool.padding - pool.size;
  std::int64_t out = (span + pool.stride - 1) / pool.stride + 1;
  if ((out - 1) * pool.stride >= extent + pool.padding) --out;
  return out;
}

}  // namespace

torch::Tensor Pooling::apply(const torch::Tensor& x) const {
  if (kind == PoolKind::Max) return torch::max_pool2d(x, {size, size}, {stride, stride}, {padding, padding}, {1, 1}, true);
  if (kind == PoolKind::Avg) return torch::avg_pool2d(x, {size, size}, {stride, stride}, {padding, padding}, true);
  return x;
}

ConvStack::ConvStack(std::vector<ConvLayerSpec> specs, std::int64_t image_channels, Pooling readout_pool)
    : specs_(std::move(specs)), image_channels_(image_channels), readout_pool_(readout_pool) {}

std::int64_t ConvStack::inputs_of(std::size_t index) const {
  return index == 0 ? image_channels_ : specs_.at(index - 1).channels;
}

void ConvStack::grow(torch::Device device) {
  const std::size_t i = size();
  if (i >= specs_.size()) throw std::logic_error("scff: grow() past the planned layers");
  const auto& spec = specs_[i];
  const std::int64_t in = inputs_of(i);
  auto w = torch::empty({spec.channels, in, spec.kernel, spec.kernel});
  torch::nn::init::xavier_uniform_(w);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in * spec.kernel * spec.kernel));
  auto b = torch::empty({spec.channels}).uniform_(-bound, bound);
  if (!init_prefix_.empty())
    load_initial_state(init_prefix_, {{fmt::format("scff{}_weight", i), w}, {fmt::format("scff{}_bias", i), b}});
  weights_.push_back(w.to(device).set_requires_grad(true));
  biases_.push_back(b.to(device).set_requires_grad(true));
}

std::vector<torch::Tensor> ConvStack::layer_parameters(std::size_t index) {
  return {weights_.at(index), biases_.at(index)};
}

std::string ConvStack::describe(std::size_t index) const {
  const auto& spec = specs_.at(index);
  return fmt::format("{} kernels of {}x{} on {} channels{}, padding {} ({})", spec.channels, spec.kernel, spec.kernel,
                     inputs_of(index), reads_pairs(index) ? " (pairs, shared kernels)" : "", spec.padding,
                     spec.reflect ? "reflect" : "zeros");
}

torch::Tensor ConvStack::preactivation(std::size_t index, const torch::Tensor& x) {
  const auto& spec = specs_.at(index);
  namespace F = torch::nn::functional;
  auto padded = x;
  if (spec.padding > 0) {
    auto options = F::PadFuncOptions({spec.padding, spec.padding, spec.padding, spec.padding});
    padded = F::pad(x, spec.reflect ? options.mode(torch::kReflect) : options);
  }
  const auto n = standardize(padded);
  const auto& w = weights_.at(index);
  const auto& b = biases_.at(index);
  if (!reads_pairs(index)) return torch::conv2d(n, w, b);
  // conv(a) + conv(b) with one set of kernels is conv(a + b), each half's bias counted.
  const auto c = w.size(1);
  if (n.size(1) != 2 * c)
    throw DataError(fmt::format("scff layer {} reads pairs of {}-channel inputs, got {} channels", index, c, n.size(1)));
  return torch::conv2d(n.slice(1, 0, c) + n.slice(1, c), w, 2 * b);
}

torch::Tensor ConvStack::up(std::size_t index, const torch::Tensor& z) const {
  return specs_.at(index).pool.apply(activate(z, specs_.at(index).activation));
}

std::vector<torch::Tensor> ConvStack::features(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  // A few images at a time: a thousand images' pre-activations are hundreds of MB, which
  // the allocator maps and unmaps at every call (most of the time, in the kernel); a chunk's
  // stay in its reused heap.
  const std::int64_t chunk = chunk_rows();
  std::vector<std::vector<torch::Tensor>> parts(size());
  for (std::int64_t start = 0; start < x.size(0); start += chunk) {
    auto h = x.slice(0, start, std::min(x.size(0), start + chunk));
    for (std::size_t i = 0; i < size(); ++i) {
      if (reads_pairs(i)) h = paired_with_itself(h);
      h = up(i, preactivation(i, h));
      parts[i].push_back(standardize(readout_pool_.apply(h)).flatten(1));
    }
  }
  std::vector<torch::Tensor> out;
  for (auto& layer : parts) out.push_back(layer.size() == 1 ? layer[0] : torch::cat(layer, 0));
  return out;
}

std::vector<std::vector<std::int64_t>> ConvStack::output_shapes(const std::vector<std::int64_t>& image_shape) const {
  std::vector<std::vector<std::int64_t>> out;
  std::int64_t h = image_shape.at(1), w = image_shape.at(2);
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    const auto& spec = specs_[i];
    const std::int64_t ch = h + 2 * spec.padding - spec.kernel + 1, cw = w + 2 * spec.padding - spec.kernel + 1;
    if (ch < 1 || cw < 1 || ch + 2 * spec.pool.padding < spec.pool.size || cw + 2 * spec.pool.padding < spec.pool.size)
      throw RecipeError(fmt::format("scff layer {}: its kernel or pooling window is larger than the {}x{} inputs "
                                    "reaching it",
                                    i, h, w));
    h = pooled(ch, spec.pool), w = pooled(cw, spec.pool);
    out.push_back({spec.channels, h, w});
  }
  return out;
}

std::vector<std::vector<std::int64_t>> ConvStack::feature_shapes(const std::vector<std::int64_t>& image_shape) const {
  auto out = output_shapes(image_shape);
  for (auto& shape : out) shape = {shape[0], pooled(shape[1], readout_pool_), pooled(shape[2], readout_pool_)};
  return out;
}

std::vector<NamedTensor> ConvStack::state() const {
  std::vector<NamedTensor> out;
  for (std::size_t i = 0; i < size(); ++i) {
    out.emplace_back(fmt::format("scff{}_weight", i), weights_[i].detach());
    out.emplace_back(fmt::format("scff{}_bias", i), biases_[i].detach());
  }
  return out;
}

void ConvStack::append_from(const std::vector<NamedTensor>& state) {
  for (std::size_t i = size();; ++i) {
    const auto weight = fmt::format("scff{}_weight", i), bias = fmt::format("scff{}_bias", i);
    const auto w = std::find_if(state.begin(), state.end(), [&](const NamedTensor& t) { return t.first == weight; });
    if (w == state.end()) return;
    const auto b = std::find_if(state.begin(), state.end(), [&](const NamedTensor& t) { return t.first == bias; });
    if (i >= specs_.size())
      throw DataError(fmt::format("scff: the saved state holds layer {}, but the recipe has {} layers", i, specs_.size()));
    const auto& spec = specs_[i];
    const std::vector<std::int64_t> expected = {spec.channels, inputs_of(i), spec.kernel, spec.kernel};
    if (w->second.sizes().vec() != expected || b == state.end() || b->second.dim() != 1 ||
        b->second.size(0) != spec.channels)
      throw DataError(fmt::format("scff layer {}: kernels {} and bias {} do not fit the recipe's {} kernels of {}x{} on "
                                  "{} channels",
                                  i, fmt::join(w->second.sizes(), "x"),
                                  b == state.end() ? std::string("missing") : fmt::format("{}", fmt::join(b->second.sizes(), "x")),
                                  spec.channels, spec.kernel, spec.kernel, inputs_of(i)));
    weights_.push_back(w->second.detach().clone().set_requires_grad(true));
    biases_.push_back(b->second.detach().clone().set_requires_grad(true));
  }
}

std::vector<torch::Tensor> ConvStack::parameters() {
  std::vector<torch::Tensor> out;
  for (std::size_t i = 0; i < size(); ++i) out.push_back(weights_[i]), out.push_back(biases_[i]);
  return out;
}

}  // namespace hebbkit::scff
