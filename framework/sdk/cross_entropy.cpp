#include <cmath>
#include <cstdint>

#include <fmt/format.h>
#include <torch/types.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/training.hpp"

namespace hebbkit {
namespace {

// One row at a time: max, sum of exponentials, loss, gradient and argmax, all while the
// row is in registers; ATen's way is a dozen ops, each with its own dispatch and pass.
template <typename T>
void cross_entropy_rows(const T* logits, const std::int64_t* labels, T* grad, std::int64_t rows, std::int64_t classes,
                        double& loss, std::int64_t& correct) {
  const T scale = T(1) / static_cast<T>(rows);
  loss = 0;
  correct = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* z = logits + r * classes;
    T* g = grad + r * classes;
    const std::int64_t label = labels[r];
    if (label < 0 || label >= classes)
      throw DataError(fmt::format("cross-entropy: label {} of row {} is not a class of {} logits", label, r, classes));
    std::int64_t best = 0;
    for (std::int64_t c = 1; c < classes; ++c)
      if (z[c] > z[best]) best = c;
    const T top = z[best];
    T sum = 0;
    for (std::int64_t c = 0; c < classes; ++c) sum += g[c] = std::exp(z[c] - top);
    const T inv = scale / sum;
    for (std::int64_t c = 0; c < classes; ++c) g[c] *= inv;
    g[label] -= scale;
    loss += static_cast<double>(top + std::log(sum) - z[label]);
    correct += best == label;
  }
  loss /= static_cast<double>(rows);
}

}  // namespace

CrossEntropyStep cross_entropy_step(const torch::Tensor& logits, const torch::Tensor& labels) {
  if (logits.dim() != 2 || labels.dim() != 1 || labels.size(0) != logits.size(0) || logits.size(0) == 0)
    throw DataError(fmt::format("cross-entropy: logits of shape {} need labels of shape ({}), got {}",
                                fmt::join(logits.sizes(), "x"), logits.dim() > 0 ? logits.size(0) : 0,
                                fmt::join(labels.sizes(), "x")));
  torch::NoGradGuard no_grad;
  const auto type = logits.scalar_type();
  if (!logits.device().is_cpu() || (type != torch::kFloat32 && type != torch::kFloat64)) {
    const auto log_p = torch::log_softmax(logits, 1);
    auto grad = log_p.exp();
    grad.scatter_add_(1, labels.unsqueeze(1), torch::full({logits.size(0), 1}, -1.0, grad.options()));
    grad.div_(static_cast<double>(logits.size(0)));
    return {-log_p.gather(1, labels.unsqueeze(1)).mean(), grad,
            logits.argmax(1).eq(labels).sum().item<std::int64_t>()};
  }
  const auto z = logits.contiguous();
  const auto y = labels.to(torch::kInt64).contiguous();
  auto grad = torch::empty_like(z);
  double loss = 0;
  std::int64_t correct = 0;
  if (type == torch::kFloat32)
    cross_entropy_rows(z.data_ptr<float>(), y.data_ptr<std::int64_t>(), grad.data_ptr<float>(), z.size(0), z.size(1),
                       loss, correct);
  else
    cross_entropy_rows(z.data_ptr<double>(), y.data_ptr<std::int64_t>(), grad.data_ptr<double>(), z.size(0),
                       z.size(1), loss, correct);
  return {torch::scalar_tensor(loss, z.options()), grad, correct};
}

}  // namespace hebbkit
