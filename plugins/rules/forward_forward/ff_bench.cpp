// ff_bench [--threads N] [--rows R] [--batch B]
//
// One epoch of one Forward-Forward layer (784 -> 500, the supervised recipe's first layer)
// against the GEMM work it must do, timed in the same process: per batch, the forward
// products of the positive and the negative data and the two weight-gradient products.
#include <chrono>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <torch/torch.h>

#include "ff_core.hpp"

namespace {
template <class Fn>
double seconds(Fn&& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  std::int64_t rows = 60000, batch = 1000, inputs = 784, width = 500;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rows")) rows = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch")) batch = std::atoll(argv[i + 1]);
  }
  at::set_num_threads(threads);
  torch::manual_seed(0);
  const auto pos = torch::rand({rows, inputs}), neg = torch::rand({rows, inputs});
  torch::nn::Linear layer(inputs, width);
  torch::optim::Adam optimizer(layer->parameters(), torch::optim::AdamOptions(0.03));
  // What the rule does per epoch: normalise, then one train_step per minibatch.
  auto epoch = [&] {
    const auto pos_dir = hebbkit::ff::direction(pos), neg_dir = hebbkit::ff::direction(neg);
    for (std::int64_t s = 0; s < rows; s += batch)
      hebbkit::ff::train_step(layer, optimizer, pos_dir.slice(0, s, s + batch), neg_dir.slice(0, s, s + batch), 2.0);
  };
  const auto w = layer->weight.detach().clone();
  auto gemms = [&] {
    for (std::int64_t s = 0; s < rows; s += batch) {
      const auto xp = pos.slice(0, s, s + batch), xn = neg.slice(0, s, s + batch);
      const auto x = torch::cat({xp, xn});
      const auto h = torch::mm(x, w.t());  // forward of positives and negatives
      (void)torch::mm(h.t(), x);           // the weight gradient
    }
  };
  epoch();  // warm-up
  gemms();
  const double epoch_s = seconds(epoch), gemm_s = seconds(gemms);
  fmt::print("forward_forward layer {} -> {}, {} rows, batch {}, {} thread(s)\n", inputs, width, rows, batch,
             at::get_num_threads());
  fmt::print("epoch {:.3f} s | its GEMMs alone {:.3f} s | ratio {:.2f}\n", epoch_s, gemm_s, epoch_s / gemm_s);
  return 0;
}
