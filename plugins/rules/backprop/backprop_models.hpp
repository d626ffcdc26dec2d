#pragma once
// The networks the backprop baseline trains: built from the input shape, so that the
// same description rebuilds a saved model exactly.
#include <cstdint>
#include <string>
#include <vector>

#include <hebbkit/config.hpp>
#include <hebbkit/params.hpp>
#include <torch/nn/modules/container/sequential.h>
#include <torch/types.h>

namespace hebbkit::backprop {

enum class Model { Mlp, SimpleCnn, Control, Conv };
inline Choices<Model> param_choices(Model) {
  return {{Model::Mlp, "mlp"}, {Model::SimpleCnn, "simple_cnn"}, {Model::Control, "control"}, {Model::Conv, "conv"}};
}
enum class ConvActivation { Relu, Triangle };
inline Choices<ConvActivation> param_choices(ConvActivation) {
  return {{ConvActivation::Relu, "relu"}, {ConvActivation::Triangle, "triangle"}};
}
enum class ConvPadding { Zeros, Reflect };
inline Choices<ConvPadding> param_choices(ConvPadding) {
  return {{ConvPadding::Zeros, "zeros"}, {ConvPadding::Reflect, "reflect"}};
}

/// The blocks of `model: conv`, one entry per block in each list (or one entry for every
/// block): the same network a stack of Hebbian conv layers builds (krotov_conv, softhebb),
/// trained end to end, so that each Hebbian result has its backprop twin.
struct ConvBlocks {
  std::vector<std::int64_t> channels = param("channels", std::vector<std::int64_t>{},
                                             "conv: kernels of each block (its output channels), bottom first")
                                           .at_least(1);
  std::vector<std::int64_t> kernel = param("kernel", std::vector<std::int64_t>{5}, "conv: kernel size of each block").at_least(1);
  std::vector<std::int64_t> padding = param("padding", std::vector<std::int64_t>{0}, "conv: padding of each block").at_least(0);
  ConvPadding padding_mode = param("padding_mode", ConvPadding::Zeros,
                                   "conv: what the padding holds: zeros, or the image mirrored (reflect, as SoftHebb)");
  bool input_norm = param("input_norm", false,
                          "conv: a batch norm without scale or shift in front of each block, as Hebbian conv layers "
                          "have");
  ConvActivation activation =
      param("activation", ConvActivation::Relu, "conv: relu, or triangle (relu of u minus its mean over channels)");
  std::vector<double> power =
      param("power", std::vector<double>{1.0}, "conv: each block's activation is raised to this power");
  std::vector<std::string> pool =
      param("pool", std::vector<std::string>{"none"}, "conv: pooling after each block: none, max or avg");
  std::vector<std::int64_t> pool_size = param("pool_size", std::vector<std::int64_t>{2}, "conv: pooling window").at_least(1);
  std::vector<std::int64_t> pool_stride =
      param("pool_stride", std::vector<std::int64_t>{0}, "conv: pooling step (0: the window)").at_least(0);
  std::vector<std::int64_t> pool_padding =
      param("pool_padding", std::vector<std::int64_t>{0}, "conv: pooling padding").at_least(0);
  std::vector<std::int64_t> dense =
      param("dense", std::vector<std::int64_t>{}, "conv: widths of ReLU layers between the blocks and the classifier")
          .at_least(1);
  std::int64_t blocks = param("blocks", 0,
                              "conv: build only the first N of the conv blocks followed by the dense layers (0: all), "
                              "the twin of a Hebbian stack cut at depth N")
                            .at_least(0);
};

/// The keys model, hidden and dropout, and ConvBlocks'.
struct Architecture {
  Model model = param("model", Model::Mlp,
                      "mlp: ReLU layers of `hidden` widths; simple_cnn: the PyTorch MNIST example; control: batch "
                      "norm + linear; conv: blocks of `channels` (a Hebbian conv stack's twin)");
  std::vector<std::int64_t> hidden =
      param("hidden", std::vector<std::int64_t>{2000}, "mlp: widths of the hidden layers").at_least(1);
  double dropout = param("dropout", 0.0,
                         "mlp: dropout after each hidden layer; simple_cnn: its dropout2d and dropout (0.5 in the "
                         "example); conv: before the classifier")
                       .in_range(0, 0.99);
  ConvBlocks conv;
};

/// At validation: the conv keys fit together (list lengths, pool names); fails on `p` at the key.
void check(const Architecture& arch, const Params& p);

/// A network for inputs of `input_shape` (one sample, e.g. {1, 28, 28} or {784}) with
/// `classes` outputs. Throws RecipeError when the model cannot take that shape.
torch::nn::Sequential build(const Architecture& arch, const std::vector<std::int64_t>& input_shape,
                            std::int64_t classes);

}  // namespace hebbkit::backprop
