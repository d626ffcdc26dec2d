// krotov_conv_bench [--threads N] [--steps S] [--rounds R] [--batch B]
//
// One conv Krotov-Hopfield update per batch at the sizes of Amato et al.'s CIFAR-10 network
// (biopytorch's layers 1-4, batch 64), three ways: hebbkit's chunked step, the unfold-based
// update (every patch of the batch unfolded, currents by one product, a dense g, ds by a
// second product: biopytorch's dev/bioconv2d_dev.py, through LibTorch), and the bare
// convolution that computes the currents alone (torch's conv2d; a floor, not an update).
// Each runs in a child process of its own, so its peak memory is its own: the figure is
// the growth of the resident set over the inputs already in memory (VmHWM after
// /proc/self/clear_refs). Times are medians over rounds of `steps` steps.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/types.h>

#include "hebbkit/process.hpp"
#include "bench.hpp"

#include "conv_update.hpp"

namespace {

using namespace hebbkit;

struct Case {
  const char* name;
  std::int64_t channels, size, kernels, kernel;
};

// Amato et al. 2019 as biopytorch builds it: 3->96 k5 on 32x32, pool; 96->128 k3 on 14x14;
// 128->192 k3 on 12x12, pool; 192->256 k3 on 5x5.
const Case cases[] = {{"layer 1: 3->96 k5, 32x32", 3, 32, 96, 5},
                      {"layer 2: 96->128 k3, 14x14", 96, 14, 128, 3},
                      {"layer 3: 128->192 k3, 12x12", 128, 12, 192, 3},
                      {"layer 4: 192->256 k3, 5x5", 192, 5, 256, 3}};

std::int64_t status_kib(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::atoll(line.c_str() + std::strlen(key));
  return 0;
}

using hebbkit::bench::median;

struct Figures {
  double ms = 0, peak_mib = 0;
};

// The unfold-based update as biopytorch's dev version writes it (topk, not a full sort).
void unfold_step(torch::Tensor& w, const torch::Tensor& x, const krotov::Hyper& hyper, const ConvGeometry& g,
                 double eps) {
  torch::NoGradGuard no_grad;
  const auto patches = g.unfold(x).t();  // D x P
  auto w2 = w.view({w.size(0), -1});
  const auto currents = torch::mm(torch::sign(w2) * torch::abs(w2).pow(hyper.p - 1), patches);
  const auto ranking = std::get<1>(currents.topk(hyper.k, 0));
  auto g_dense = torch::zeros_like(currents);
  const auto columns = torch::arange(currents.size(1), torch::kLong);
  g_dense.index_put_({ranking[0], columns}, 1.0);
  g_dense.index_put_({ranking[hyper.k - 1], columns}, -hyper.delta);
  auto ds = torch::mm(g_dense, patches.t());
  ds.sub_((g_dense * currents).sum(1, true) * w2);
  w2.add_(ds / (ds.abs().amax(1, true) + hyper.prec), eps);
}

// In a child: `steps` x `rounds` calls of the chosen implementation; ms per call and peak growth.
Figures measure(const Case& c, int which, int threads, int steps, int rounds, std::int64_t batch) {
  at::set_num_threads(threads);
  torch::manual_seed(0);
  ConvGeometry g;
  g.kernel_h = g.kernel_w = c.kernel;
  const krotov::Hyper hyper{2.0, 2, 0.1, 1e-5};
  auto x = torch::randn({batch * 4, c.channels, c.size, c.size});
  auto w = torch::randn({c.kernels, c.channels, c.kernel, c.kernel});
  krotov::ConvSynapses synapses(w.clone(), hyper, krotov::Normalise::PerKernel, g);
  std::int64_t slot = 0;
  auto call = [&] {
    const auto xb = x.slice(0, (slot % 4) * batch, (slot % 4 + 1) * batch);
    ++slot;
    if (which == 0) synapses.step(xb, 0.001);
    else if (which == 1) unfold_step(w, xb, hyper, g, 0.001);
    else (void)g.conv(xb, w);
  };
  call();  // warm-up: allocator, BLAS threads, kept buffers
  const std::int64_t before = status_kib("VmRSS:");
  { std::ofstream("/proc/self/clear_refs") << "5"; }
  std::vector<double> ms;
  for (int r = 0; r < rounds; ++r) {
    ms.push_back(hebbkit::bench::ms_of([&] {
                   for (int s = 0; s < steps; ++s) call();
                 }) /
                 steps);
  }
  return {median(ms), std::max<std::int64_t>(0, status_kib("VmHWM:") - before) / 1024.0};
}

Figures in_child(const Case& c, int which, int threads, int steps, int rounds, std::int64_t batch) {
  int fds[2];
  if (pipe(fds) != 0) std::exit(1);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    const Figures f = measure(c, which, threads, steps, rounds, batch);
    if (write(fds[1], &f, sizeof f) != static_cast<ssize_t>(sizeof f)) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  Figures f;
  const bool ok = read(fds[0], &f, sizeof f) == static_cast<ssize_t>(sizeof f);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fmt::print(stderr, "krotov_conv_bench: the measurement of {} failed\n", c.name);
    std::exit(1);
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  hebbkit::tune_process(argv);
  int threads = 2, steps = 5, rounds = 5;
  std::int64_t batch = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::max(1, std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--steps")) steps = std::max(1, std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::max(1, std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--batch")) batch = std::max(1, std::atoi(argv[i + 1]));
    else {
      fmt::print(stderr, "krotov_conv_bench: unknown option {} (--threads, --steps, --rounds, --batch)\n", argv[i]);
      return 2;
    }
  }
  // Nothing touches torch's thread pools here: each measurement forks a fresh child.
  fmt::print("conv Krotov update per batch of {}, {} thread(s), medians of {} rounds x {} steps; peak = memory growth "
             "over the inputs\n", batch, threads, rounds, steps);
  fmt::print("{:<30} {:>10} {:>10} {:>7} {:>11} {:>11} {:>10}\n", "case", "hebbkit ms", "unfold ms", "speedup",
             "hebbkit MiB", "unfold MiB", "conv ms");
  for (const auto& c : cases) {
    const auto ours = in_child(c, 0, threads, steps, rounds, batch);
    const auto unfold = in_child(c, 1, threads, steps, rounds, batch);
    const auto conv = in_child(c, 2, threads, steps, rounds, batch);
    fmt::print("{:<30} {:>10.2f} {:>10.2f} {:>7.2f} {:>11.1f} {:>11.1f} {:>10.2f}\n", c.name, ours.ms, unfold.ms,
               unfold.ms / ours.ms, ours.peak_mib, unfold.peak_mib, conv.ms);
  }
  return 0;
}
