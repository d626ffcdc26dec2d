#pragma once
// The networks the backprop baseline trains: built from the input shape, so that the
// same description rebuilds a saved model exactly.
#include <cstdint>
#include <string>
#include <vector>

#include <hebbkit/config.hpp>
#include <torch/nn/modules/container/sequential.h>
#include <torch/types.h>

namespace hebbkit::backprop {

enum class Model { Mlp, SimpleCnn, Control };
inline Choices<Model> param_choices(Model) {
  return {{Model::Mlp, "mlp"}, {Model::SimpleCnn, "simple_cnn"}, {Model::Control, "control"}};
}

/// The keys model, hidden and dropout.
struct Architecture {
  Model model = param("model", Model::Mlp,
                      "mlp: ReLU layers of `hidden` widths; simple_cnn: the PyTorch MNIST example; control: batch "
                      "norm + linear");
  std::vector<std::int64_t> hidden =
      param("hidden", std::vector<std::int64_t>{2000}, "mlp: widths of the hidden layers").at_least(1);
  double dropout = param("dropout", 0.0,
                         "mlp: dropout after each hidden layer; simple_cnn: its dropout2d and dropout (0.5 in the "
                         "example)")
                       .in_range(0, 0.99);
};

/// A network for inputs of `input_shape` (one sample, e.g. {1, 28, 28} or {784}) with
/// `classes` outputs. Throws RecipeError when the model cannot take that shape.
torch::nn::Sequential build(const Architecture& arch, const std::vector<std::int64_t>& input_shape,
                            std::int64_t classes);

}  // namespace hebbkit::backprop
