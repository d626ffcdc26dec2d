#include "backprop_models.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <hebbkit/errors.hpp>
#include <torch/nn.h>

namespace hebbkit::backprop {
namespace nn = torch::nn;

namespace {

std::int64_t volume(const std::vector<std::int64_t>& shape) {
  std::int64_t v = 1;
  for (const auto d : shape) v *= d;
  return v;
}

// The classic PyTorch MNIST example: conv 10 k5, max-pool 2, ReLU; conv 20 k5, dropout2d,
// max-pool 2, ReLU; linear 50, ReLU, dropout; linear classes.
nn::Sequential simple_cnn(const std::vector<std::int64_t>& shape, std::int64_t classes, double dropout) {
  if (shape.size() != 3 || shape[1] < 12 || shape[2] < 12)
    throw RecipeError(fmt::format("backprop simple_cnn needs image inputs (C, H, W) of at least 12x12, got {}; leave "
                                  "'flatten' out of dataset.preprocess",
                                  fmt::join(shape, "x")));
  nn::Sequential features(nn::Conv2d(nn::Conv2dOptions(shape[0], 10, 5)), nn::MaxPool2d(2), nn::ReLU(),
                          nn::Conv2d(nn::Conv2dOptions(10, 20, 5)), nn::Dropout2d(dropout), nn::MaxPool2d(2),
                          nn::ReLU(), nn::Flatten());
  features->eval();  // the shape probe must not draw dropout masks from the generator
  const auto flat = features->forward(torch::zeros({1, shape[0], shape[1], shape[2]})).size(1);
  features->train();
  features->push_back(nn::Linear(flat, 50));
  features->push_back(nn::ReLU());
  features->push_back(nn::Dropout(dropout));
  features->push_back(nn::Linear(50, classes));
  return features;
}

}  // namespace

nn::Sequential build(const Architecture& arch, const std::vector<std::int64_t>& input_shape, std::int64_t classes) {
  torch::NoGradGuard no_grad;
  if (arch.model == Model::SimpleCnn) return simple_cnn(input_shape, classes, arch.dropout);
  const std::int64_t inputs = volume(input_shape);
  nn::Sequential net{nn::Flatten()};
  if (arch.model == Model::Control) {
    // Batch norm without learned scale, then one linear layer on the pixels.
    net->push_back(nn::BatchNorm1d(nn::BatchNorm1dOptions(inputs).affine(false)));
    net->push_back(nn::Linear(inputs, classes));
    return net;
  }
  std::int64_t below = inputs;
  for (const auto width : arch.hidden) {
    net->push_back(nn::Linear(below, width));
    net->push_back(nn::ReLU());
    if (arch.dropout > 0) net->push_back(nn::Dropout(arch.dropout));
    below = width;
  }
  net->push_back(nn::Linear(below, classes));
  return net;
}

}  // namespace hebbkit::backprop
