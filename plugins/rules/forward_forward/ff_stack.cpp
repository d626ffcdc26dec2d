#include "ff_stack.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <hebbkit/errors.hpp>
#include <hebbkit/initial_weights.hpp>
#include <hebbkit/linear_layers.hpp>
#include <hebbkit/training.hpp>

#include "ff_objective.hpp"

namespace hebbkit::ff {

void Stack::add(std::int64_t inputs, std::int64_t width, torch::Device device) {
  torch::nn::Linear linear(inputs, width);
  if (normal_init_) {
    torch::NoGradGuard no_grad;
    linear->weight.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(width)));
    linear->bias.zero_();
  }
  if (!init_prefix_.empty()) {
    const std::size_t i = layers_.size();
    load_initial_state(init_prefix_, {{fmt::format("ff{}_weight", i), linear->weight},
                                      {fmt::format("ff{}_bias", i), linear->bias}});
  }
  linear->to(device);
  layers_.push_back(linear);
}

double Stack::input_scale(std::size_t index) const {
  return rms_input_ ? std::sqrt(static_cast<double>(layers_[index]->weight.size(1))) : 1.0;
}

torch::Tensor Stack::layer_output(std::size_t index, const torch::Tensor& x) {
  const double scale = input_scale(index);
  return torch::relu(layers_[index]->forward(scale == 1.0 ? direction(x) : direction(x) * scale));
}

std::vector<torch::Tensor> Stack::activations(const torch::Tensor& x) {
  std::vector<torch::Tensor> out;
  torch::Tensor h = x.flatten(1);
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    h = layer_output(i, h);
    out.push_back(h);
  }
  return out;
}

torch::Tensor Stack::apply_layer(const torch::Tensor& x, std::size_t index) {
  return apply_batched([&](const torch::Tensor& b) { return layer_output(index, b); }, x, 4096);
}

torch::Tensor Stack::through(torch::Tensor x, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) x = apply_layer(x, i);
  return x;
}

std::vector<NamedTensor> Stack::state() const { return linear_layers_state(layers_, "ff"); }

void Stack::append_from(const std::vector<NamedTensor>& state) {
  for (auto& layer : linear_layers_from(state, "ff", "forward_forward")) layers_.push_back(layer);
}

std::vector<torch::Tensor> Stack::parameters() { return linear_layers_parameters(layers_); }

}  // namespace hebbkit::ff
