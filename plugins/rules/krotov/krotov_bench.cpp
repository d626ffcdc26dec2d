// krotov_bench [--threads N] [--steps S] [--rounds R] [--only TEXT]
//
// Times the Krotov-Hopfield training step against the bare GEMM it cannot avoid
// (hidden x inputs times inputs x batch), in the same process, at the paper's sizes.
// Prints ms per step, ms per GEMM, ms per GEMM followed by the ranking (what of the step's
// excess is ranking, what the update), the ratio step / GEMM (target <= 1.10) and peak
// memory. A shared machine drifts by tens of percent within a minute, so the calls are
// interleaved one by one and the figures are medians over calls.
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <vector>
#include <cstring>
#include <string>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/types.h>

#include "hebbkit/process.hpp"
#include "bench.hpp"

#include "krotov_update.hpp"

namespace {

using hebbkit::bench::ms_of;
using hebbkit::bench::median;

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  hebbkit::tune_process(argv);
  int threads = 2, steps = 50, rounds = 9;
  std::string only;  // run only the cases whose name contains it (e.g. for a profiler)
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::max(1, std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];
  }
  at::set_num_threads(threads);
  torch::manual_seed(0);
  fmt::print("krotov step vs bare GEMM, {} thread(s), {} rounds of {} steps, GEMMs and GEMMs + ranking, interleaved; "
             "medians per call, ratio of the medians (range of the rounds' ratios)\n",
             at::get_num_threads(), rounds, steps);
  fmt::print("{:<28} {:>10} {:>10} {:>10} {:>7} {:>15} {:>8} {:>10}\n", "case (hidden x inputs, batch)", "step ms", "gemm ms",
             "+rank ms", "ratio", "range", "W MiB", "peak MiB");
  struct Case { const char* name; std::int64_t hidden, inputs, batch; double p; std::int64_t k; double delta; };
  for (const Case c : {Case{"MNIST 2000x784, 100", 2000, 784, 100, 3.0, 7, 0.4},
                       Case{"CIFAR-10 1000x3072, 1000", 1000, 3072, 1000, 2.0, 2, 0.1}}) {
    if (std::string(c.name).find(only) == std::string::npos) continue;
    // Unit-norm inputs and settled-looking weights, as in training.
    auto x = torch::rand({c.batch * 10, c.inputs});
    x = x / x.norm(2, {1}, true);
    auto w = torch::randn({c.hidden, c.inputs});
    w = w / w.abs().pow(c.p).sum(1, true).pow(1.0 / c.p);
    hebbkit::krotov::Synapses synapses(w, {c.p, c.k, c.delta, 1e-30});
    std::int64_t batch_index = 0;
    auto next_batch = [&] {
      const std::int64_t slot = batch_index++ % 10;
      return x.slice(0, slot * c.batch, (slot + 1) * c.batch);
    };
    // The three are interleaved call by call, so drift hits them alike and the GEMM meets
    // the caches as the step's own GEMM does (after an update).
    const auto& wp = synapses.powered_weights();
    std::vector<double> step_ms, gemm_ms, ranked_ms, ratio;
    for (int i = 0; i < 3; ++i) synapses.step(next_batch(), 0.01), (void)torch::mm(next_batch(), wp.t());
    for (int r = 0; r < rounds; ++r) {
      double step_sum = 0, gemm_sum = 0;
      for (int s = 0; s < steps; ++s) {
        step_ms.push_back(ms_of([&] { synapses.step(next_batch(), 0.01); }));
        gemm_ms.push_back(ms_of([&] { (void)torch::mm(next_batch(), wp.t()); }));
        ranked_ms.push_back(ms_of([&] { (void)hebbkit::krotov::currents_ranked(next_batch(), wp, c.k); }));
        step_sum += step_ms.back(), gemm_sum += gemm_ms.back();
      }
      ratio.push_back(step_sum / gemm_sum);
    }
    fmt::print("{:<28} {:>10.2f} {:>10.2f} {:>10.2f} {:>7.3f} {:>7.3f}-{:<7.3f} {:>8.1f} {:>10.1f}\n", c.name,
               median(step_ms), median(gemm_ms), median(ranked_ms), median(step_ms) / median(gemm_ms),
               *std::min_element(ratio.begin(), ratio.end()), *std::max_element(ratio.begin(), ratio.end()),
               c.hidden * c.inputs * 4 / 1048576.0, peak_rss_mib());
  }
  return 0;
}
