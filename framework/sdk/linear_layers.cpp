#include "hebbkit/linear_layers.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hebbkit/errors.hpp"

namespace hebbkit {

std::vector<NamedTensor> linear_layers_state(const std::vector<torch::nn::Linear>& layers, const std::string& prefix) {
  std::vector<NamedTensor> out;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    out.emplace_back(fmt::format("{}{}_weight", prefix, i), layers[i]->weight.detach());
    out.emplace_back(fmt::format("{}{}_bias", prefix, i), layers[i]->bias.detach());
  }
  return out;
}

std::vector<torch::nn::Linear> linear_layers_from(const std::vector<NamedTensor>& state, const std::string& prefix,
                                                  const std::string& who) {
  const auto holds = [&](const std::string& name) {
    return std::any_of(state.begin(), state.end(), [&](const NamedTensor& t) { return t.first == name; });
  };
  torch::NoGradGuard no_grad;
  std::vector<torch::nn::Linear> layers;
  for (std::size_t i = 0; holds(fmt::format("{}{}_weight", prefix, i)); ++i) {
    const auto& weight = find_state(state, fmt::format("{}{}_weight", prefix, i));
    const auto& bias = find_state(state, fmt::format("{}{}_bias", prefix, i));
    if (weight.dim() != 2 || bias.dim() != 1 || bias.size(0) != weight.size(0))
      throw DataError(fmt::format("{} layer {}: weight {} and bias {} do not make a layer", who, i,
                                  fmt::join(weight.sizes(), "x"), fmt::join(bias.sizes(), "x")));
    if (i > 0 && weight.size(1) != layers.back()->weight.size(0))
      throw DataError(fmt::format("{} layer {} reads {} values, but layer {} gives {}", who, i, weight.size(1), i - 1,
                                  layers.back()->weight.size(0)));
    torch::nn::Linear linear(weight.size(1), weight.size(0));
    linear->to(weight.device());
    linear->weight.copy_(weight);
    linear->bias.copy_(bias);
    layers.push_back(linear);
  }
  return layers;
}

std::vector<torch::Tensor> linear_layers_parameters(std::vector<torch::nn::Linear>& layers) {
  std::vector<torch::Tensor> out;
  for (auto& layer : layers)
    for (auto& p : layer->parameters()) out.push_back(p);
  return out;
}

}  // namespace hebbkit
