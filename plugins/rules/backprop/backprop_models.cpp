#include "backprop_models.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <hebbkit/dropout.hpp>
#include <hebbkit/errors.hpp>
#include <hebbkit/one_or_each.hpp>
#include <torch/nn.h>

namespace hebbkit::backprop {
namespace nn = torch::nn;

namespace {

// Inverted dropout by hebbkit::dropout: each row's mask is keyed by its place in the global
// minibatch (the same whatever the number of processes) and drawn in parallel, where
// torch's Dropout draws one Mersenne-twister number per element on one thread.
class RowDropoutImpl : public nn::Module {
 public:
  explicit RowDropoutImpl(double p) : p_(p) {}
  torch::Tensor forward(const torch::Tensor& x) { return hebbkit::dropout(x, p_, is_training()); }

 private:
  double p_;
};
TORCH_MODULE(RowDropout);

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

// Conv blocks as a Hebbian conv stack builds them: [batch norm,] pad, conv, activation^power,
// pool; then dense ReLU layers, dropout and the classifier.
nn::Sequential conv_net(const ConvBlocks& c, const std::vector<std::int64_t>& shape, std::int64_t classes,
                        double dropout) {
  if (shape.size() != 3)
    throw RecipeError(fmt::format("backprop conv needs image inputs (C, H, W), got {}; leave 'flatten' out of "
                                  "dataset.preprocess", fmt::join(shape, "x")));
  nn::Sequential net;
  std::int64_t below = shape[0];
  const auto total = c.channels.size() + c.dense.size();
  const auto used = c.blocks == 0 ? total : static_cast<std::size_t>(c.blocks);
  for (std::size_t i = 0; i < std::min(used, c.channels.size()); ++i) {
    if (c.input_norm) net->push_back(nn::BatchNorm2d(nn::BatchNorm2dOptions(below).affine(false)));
    const auto pad = one_or_each(c.padding, i);
    if (pad > 0 && c.padding_mode == ConvPadding::Reflect)
      net->push_back(nn::ReflectionPad2d(nn::ReflectionPad2dOptions(pad)));
    else if (pad > 0)
      net->push_back(nn::ZeroPad2d(nn::ZeroPad2dOptions(pad)));
    net->push_back(nn::Conv2d(nn::Conv2dOptions(below, c.channels[i], one_or_each(c.kernel, i))));
    const bool triangle = c.activation == ConvActivation::Triangle;
    const double power = one_or_each(c.power, i);
    net->push_back(nn::Functional([triangle, power](const torch::Tensor& u) {
      auto a = torch::relu(triangle ? u - u.mean(1, /*keepdim=*/true) : u);
      return power == 1.0 ? a : a.pow(power);
    }));
    const auto kind = one_or_each(c.pool, i);
    const auto size = one_or_each(c.pool_size, i), pool_pad = one_or_each(c.pool_padding, i);
    const auto stride = one_or_each(c.pool_stride, i) == 0 ? size : one_or_each(c.pool_stride, i);
    if (kind == "max") net->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(size).stride(stride).padding(pool_pad)));
    if (kind == "avg") net->push_back(nn::AvgPool2d(nn::AvgPool2dOptions(size).stride(stride).padding(pool_pad)));
    below = c.channels[i];
  }
  net->push_back(nn::Flatten());
  net->eval();
  std::int64_t flat = 0;
  try {
    flat = net->forward(torch::zeros({1, shape[0], shape[1], shape[2]})).size(1);
  } catch (const c10::Error&) {
    throw RecipeError(fmt::format("backprop conv: the blocks do not fit inputs of {}: a kernel or pooling window is "
                                  "larger than what reaches it", fmt::join(shape, "x")));
  }
  net->train();
  for (std::size_t j = 0; j + c.channels.size() < used; ++j) {
    const auto width = c.dense[j];
    net->push_back(nn::Linear(flat, width));
    net->push_back(nn::ReLU());
    flat = width;
  }
  if (dropout > 0) net->push_back(RowDropout(dropout));
  net->push_back(nn::Linear(flat, classes));
  return net;
}

}  // namespace

void check(const Architecture& arch, const Params& p) {
  const auto& c = arch.conv;
  if (arch.model != Model::Conv) {
    if (!c.channels.empty()) p.fail("channels", "channels describe conv blocks: they need model: conv");
    return;
  }
  if (c.channels.empty()) p.fail("channels", "model: conv needs the kernels of each block, e.g. channels: [96, 384]");
  const auto blocks = c.channels.size();
  for (const auto& [key, given] : {std::pair<const char*, std::size_t>{"kernel", c.kernel.size()},
                                   {"padding", c.padding.size()}, {"power", c.power.size()}, {"pool", c.pool.size()},
                                   {"pool_size", c.pool_size.size()}, {"pool_stride", c.pool_stride.size()},
                                   {"pool_padding", c.pool_padding.size()}})
    check_one_or_each(p, key, given, blocks, "block");
  for (const auto& kind : c.pool)
    if (kind != "none" && kind != "max" && kind != "avg")
      p.fail("pool", fmt::format("'{}' is none of none, max, avg", kind));
  for (const auto v : c.power)
    if (v <= 0) p.fail("power", fmt::format("values must be above 0; got {}", v));
  if (static_cast<std::size_t>(c.blocks) > blocks + c.dense.size())
    p.fail("blocks", fmt::format("blocks = {} but there are {} conv blocks and {} dense layers", c.blocks, blocks,
                                 c.dense.size()));
}

nn::Sequential build(const Architecture& arch, const std::vector<std::int64_t>& input_shape, std::int64_t classes) {
  torch::NoGradGuard no_grad;
  if (arch.model == Model::SimpleCnn) return simple_cnn(input_shape, classes, arch.dropout);
  if (arch.model == Model::Conv) return conv_net(arch.conv, input_shape, classes, arch.dropout);
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
    if (arch.dropout > 0) net->push_back(RowDropout(arch.dropout));
    below = width;
  }
  net->push_back(nn::Linear(below, classes));
  return net;
}

}  // namespace hebbkit::backprop
