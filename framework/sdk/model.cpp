#include "hebbkit/model.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/types.h>

#include "hebbkit/errors.hpp"

namespace hebbkit {

Model::Model(Preprocessor preprocessor, std::vector<std::unique_ptr<Rule>> layers, std::unique_ptr<Head> head)
    : preprocessor_(std::move(preprocessor)), layers_(std::move(layers)), head_(std::move(head)) {}

torch::Tensor Model::forward_prepared(const torch::Tensor& x) {
  torch::Tensor h = x;
  for (auto& layer : layers_) h = layer->forward(h);
  return h;
}

std::vector<torch::Tensor> Model::parameters() {
  std::vector<torch::Tensor> out;
  for (auto& layer : layers_)
    for (auto& p : layer->parameters()) out.push_back(p);
  for (auto& p : head_->parameters()) out.push_back(p);
  return out;
}

std::vector<torch::Tensor> Encoder::activations_prepared(const torch::Tensor& x) {
  std::vector<torch::Tensor> out;
  torch::Tensor h = x;
  for (std::size_t i = 0; i < layer_count(); ++i) {
    auto step = layer(i).forward_with_activations(h);
    for (auto& a : step.activations) out.push_back(std::move(a));
    h = std::move(step.output);
  }
  return out;
}

}  // namespace hebbkit
