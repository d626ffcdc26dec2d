#pragma once
// The networks the backprop baseline trains: built from the input shape, so that the
// same description rebuilds a saved model exactly.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/modules/container/sequential.h>
#include <torch/types.h>

namespace hebbkit::backprop {

struct Architecture {
  std::string model;                 ///< mlp, simple_cnn or control
  std::vector<std::int64_t> hidden;  ///< mlp widths
  double dropout = 0.0;              ///< mlp: after each hidden layer; simple_cnn: its two dropouts
};

/// A network for inputs of `input_shape` (one sample, e.g. {1, 28, 28} or {784}) with
/// `classes` outputs. Throws RecipeError when the model cannot take that shape.
torch::nn::Sequential build(const Architecture& arch, const std::vector<std::int64_t>& input_shape,
                            std::int64_t classes);

}  // namespace hebbkit::backprop
