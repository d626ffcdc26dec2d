// Forward-Forward's goodness scoring (hebbkit/goodness.hpp).
#include "hebbkit/goodness.hpp"

#include <stdexcept>

#include <torch/nn/functional/embedding.h>

namespace hebbkit {

OverlaidLayer::~OverlaidLayer() = default;

torch::Tensor overlay_label(const torch::Tensor& x, const torch::Tensor& labels, std::int64_t num_classes) {
  auto out = x.flatten(1).clone();
  const auto value = x.max().detach();
  const auto one_hot = torch::nn::functional::one_hot(labels, num_classes).to(out.dtype());
  out.slice(1, 0, num_classes).copy_(one_hot * value);
  return out;
}

torch::Tensor overlay_neutral_label(const torch::Tensor& x, std::int64_t num_classes) {
  auto out = x.flatten(1).clone();
  out.slice(1, 0, num_classes).fill_(x.max().item<double>() / static_cast<double>(num_classes));
  return out;
}

namespace {

// Mean square of each row, summed over acts[skip..]: a squared norm handed over for an
// activity (OverlaidOutput::squared_norms) is used as it is, else one reading pass (a norm)
// instead of a squared copy and its mean.
torch::Tensor summed_goodness(const std::vector<torch::Tensor>& acts, const std::vector<torch::Tensor>& squared,
                              std::size_t skip, const torch::Tensor& like) {
  auto total = torch::zeros({like.size(0)}, like.options());
  for (std::size_t i = skip; i < acts.size(); ++i) {
    const auto sq = i < squared.size() && squared[i].defined() ? squared[i] : acts[i].norm(2, {1}).square();
    total = total + sq / static_cast<double>(acts[i].size(1));
  }
  return total;
}

}  // namespace

torch::Tensor goodness_scores(const std::function<std::vector<torch::Tensor>(const torch::Tensor&)>& activations,
                              const torch::Tensor& x, std::int64_t num_classes, std::size_t skip) {
  const std::int64_t n = x.size(0);
  std::vector<torch::Tensor> scores;
  for (std::int64_t c = 0; c < num_classes; ++c) {
    const auto labels = torch::full({n}, c, torch::TensorOptions().dtype(torch::kInt64).device(x.device()));
    scores.push_back(summed_goodness(activations(overlay_label(x, labels, num_classes)), {}, skip, x));
  }
  return torch::stack(scores, 1);
}

torch::Tensor goodness_scores(const std::vector<Rule*>& stack, const torch::Tensor& x, std::int64_t num_classes,
                              std::size_t skip) {
  if (stack.empty()) throw std::invalid_argument("goodness_scores: the stack has no layer");
  std::vector<torch::Tensor> scores;
  const auto score = [&](std::int64_t /*label*/, OverlaidOutput bottom) {
    std::vector<torch::Tensor> acts, squared;
    const auto gather = [&](LayerOutput& step, std::vector<torch::Tensor>* squares) {
      const bool has_squares = squares != nullptr && squares->size() == step.activations.size();
      for (std::size_t i = 0; i < step.activations.size(); ++i) {
        acts.push_back(std::move(step.activations[i]));
        squared.push_back(has_squares ? std::move((*squares)[i]) : torch::Tensor());
      }
    };
    gather(bottom.layer, &bottom.squared_norms);
    torch::Tensor h = std::move(bottom.layer.output);
    for (std::size_t i = 1; i < stack.size(); ++i) {
      auto step = stack[i]->forward_with_activations(h);
      gather(step, nullptr);
      h = std::move(step.output);
    }
    scores.push_back(summed_goodness(acts, squared, skip, x));
  };
  if (auto* overlaid = dynamic_cast<OverlaidLayer*>(stack.front())) {
    overlaid->forward_overlaid(x, num_classes, score);
  } else {
    for (std::int64_t c = 0; c < num_classes; ++c) {
      const auto labels = torch::full({x.size(0)}, c, torch::TensorOptions().dtype(torch::kInt64).device(x.device()));
      score(c, {stack.front()->forward_with_activations(overlay_label(x, labels, num_classes)), {}});
    }
  }
  return torch::stack(scores, 1);
}

}  // namespace hebbkit
