// ff_bench [--threads N] [--rows R] [--batch B] [--rounds K]
//
// One epoch of one Forward-Forward layer (784 -> 500, the supervised recipe's first layer)
// three ways, timed in alternating rounds (medians; a shared machine drifts):
//   hebbkit   what the rule does: shuffled minibatches gathered into one buffer, ff::train_step;
//   GEMMs     the products that work cannot avoid: per batch, the forward product of the
//             positive and negative rows and the weight-gradient product;
//   PyTorch   a faithful LibTorch transcription of the source notebook's layer (normalise
//             positives and negatives, two products, ReLU, mean-square goodness, log(1+exp),
//             autograd backward, Adam), written with torch ops only, no hebbkit code.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/optim/adam.h>
#include <torch/types.h>

#include "hebbkit/process.hpp"
#include "bench.hpp"

#include "ff_objective.hpp"

namespace {

using hebbkit::bench::median;

template <class Fn>
double seconds(Fn&& fn) {
  return hebbkit::bench::ms_of(fn) / 1000;
}

// The notebook's layer, step for step, on a batch of positive and negative rows.
struct NotebookLayer {
  torch::Tensor weight, bias;
  std::unique_ptr<torch::optim::Adam> optimizer;
  double threshold;

  NotebookLayer(const torch::nn::Linear& init, double lr, double theta)
      : weight(init->weight.detach().clone().requires_grad_()), bias(init->bias.detach().clone().requires_grad_()),
        optimizer(std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{weight, bias},
                                                       torch::optim::AdamOptions(lr))),
        threshold(theta) {}

  torch::Tensor forward(const torch::Tensor& x) {
    const auto direction = x / (x.norm(2, {1}, true) + 1e-4);
    return torch::relu(torch::mm(direction, weight.t()) + bias.unsqueeze(0));
  }

  void step(const torch::Tensor& pos, const torch::Tensor& neg) {
    const auto g_pos = forward(pos).pow(2).mean(1), g_neg = forward(neg).pow(2).mean(1);
    const auto loss = torch::log(1 + torch::exp(torch::cat({-g_pos + threshold, g_neg - threshold}))).mean();
    optimizer->zero_grad();
    loss.backward();
    optimizer->step();
  }
};

}  // namespace

int main(int argc, char** argv) {
  hebbkit::tune_process(argv);
  int threads = 2, rounds = 3;
  std::int64_t rows = 60000, batch = 1000, inputs = 784, width = 500;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rows")) rows = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch")) batch = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::max(1, std::atoi(argv[i + 1]));
  }
  at::set_num_threads(threads);
  torch::manual_seed(0);
  const auto pos = torch::rand({rows, inputs}), neg = torch::rand({rows, inputs});
  torch::nn::Linear layer(inputs, width);
  NotebookLayer notebook(layer, 0.03, 2.0);
  torch::optim::Adam optimizer(layer->parameters(), torch::optim::AdamOptions(0.03));

  torch::Tensor x;
  auto hebbkit_epoch = [&] {
    const auto order = torch::randperm(rows, torch::kInt64);
    for (std::int64_t s = 0; s < rows; s += batch) {
      hebbkit::ff::gather_batch(pos, neg, order.slice(0, s, std::min(s + batch, rows)), x);
      hebbkit::ff::train_step(layer, optimizer, x, x.size(0) / 2, 2.0);
    }
  };
  const auto both = torch::cat({pos, neg});  // contiguous batches: the GEMMs with no gather at all
  const auto w = layer->weight.detach().clone();
  auto gemms = [&] {
    torch::NoGradGuard no_grad;
    for (std::int64_t s = 0; s < rows; s += batch) {
      const auto xb = both.slice(0, 2 * s, 2 * std::min(s + batch, rows));
      const auto h = torch::mm(xb, w.t());  // forward of positives and negatives
      (void)torch::mm(h.t(), xb);           // the weight gradient
    }
  };
  auto notebook_epoch = [&] {
    for (std::int64_t s = 0; s < rows; s += batch)
      notebook.step(pos.slice(0, s, std::min(s + batch, rows)), neg.slice(0, s, std::min(s + batch, rows)));
  };
  hebbkit_epoch();  // warm-up: allocator, BLAS threads
  gemms();
  notebook_epoch();
  std::vector<double> ours, floor, reference;
  for (int r = 0; r < rounds; ++r) {
    ours.push_back(seconds(hebbkit_epoch));
    floor.push_back(seconds(gemms));
    reference.push_back(seconds(notebook_epoch));
  }
  const double e = median(ours), g = median(floor), p = median(reference);
  fmt::print("forward_forward layer {} -> {}, {} rows, batch {} (+ as many negatives), {} thread(s), median of {} rounds\n",
             inputs, width, rows, batch, at::get_num_threads(), rounds);
  fmt::print("hebbkit epoch {:.3f} s | its GEMMs alone {:.3f} s | ratio {:.2f}\n", e, g, e / g);
  fmt::print("PyTorch-equivalent epoch (notebook layer, autograd, Adam) {:.3f} s | ratio to GEMMs {:.2f} | hebbkit is {:.2f}x "
             "its speed\n", p, p / g, p / e);
  return 0;
}
