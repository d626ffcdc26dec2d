// fit_two_ranks RANK SIZE PORT_FILE [--die-after-epochs K | --hang-after-epochs K] [--timeout-ms T]
//               [--cuda-world 1]
// fit_classifier alone and then as rank RANK of SIZE processes joined through c10d's Gloo
// (rank 0 writes its store's port to PORT_FILE; the others wait for it). Exits 0 when the
// data-parallel weights equal the single process's to 1e-5 relative, 1 when they differ,
// 3 when the world fails (the message says why). --die-after-epochs makes this rank vanish
// part-way (SIGKILL on itself), --hang-after-epochs stops it (SIGSTOP), for the tests that
// the others then end within their timeout. --cuda-world joins as a run on GPUs does
// (World::cuda: NCCL where LibTorch has it) and prints the backend it got.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <torch/nn/functional/loss.h>
#include <ATen/Parallel.h>
#include <torch/types.h>

#include "hebbkit/collective.hpp"
#include "hebbkit/context.hpp"
#include "hebbkit/progress.hpp"
#include "hebbkit/training.hpp"
#include "parallel/gloo_world.hpp"

namespace {

class Context final : public hebbkit::RunContext {
 public:
  Context(hebbkit::Collective& world, int stop_after, int signal)
      : world_(world), stop_after_(stop_after), signal_(signal) {}
  torch::Device device() const override { return torch::kCPU; }
  std::uint64_t seed() const override { return 0; }
  const std::filesystem::path& artifacts() const override { return folder_; }
  void info(const std::string&) override {}
  void warn(const std::string&) override {}
  void metric(const std::string& name, double, std::int64_t epoch, std::int64_t) override {
    if (name == "loss" && stop_after_ >= 0 && epoch + 1 >= stop_after_) ::kill(::getpid(), signal_);
  }
  std::unique_ptr<hebbkit::Progress> progress(const std::string&, std::int64_t, const std::string&) override {
    return std::make_unique<Silent>();
  }
  void check_interrupted() const override {}
  hebbkit::Collective& collective() override { return world_; }

 private:
  struct Silent final : hebbkit::Progress {
    void advance(std::int64_t) override {}
    void note(const std::string&, double) override {}
    void finish() override {}
  };
  hebbkit::Collective& world_;
  int stop_after_, signal_;
  std::filesystem::path folder_ = std::filesystem::temp_directory_path();
};

// A two-layer classifier on a teacher's labels, from the same seed every time. The last
// global minibatch (310 rows, 33 per batch) has 13 rows: shards of 7 and 6.
std::vector<torch::Tensor> train(hebbkit::Collective& world, int stop_after = -1, int signal = SIGKILL) {
  torch::manual_seed(7);
  const auto x = torch::randn({310, 12});
  const auto labels = x.matmul(torch::randn({12, 4})).argmax(1);
  auto w1 = (torch::randn({12, 16}) * 0.3).requires_grad_();
  auto w2 = (torch::randn({16, 4}) * 0.3).requires_grad_();
  hebbkit::ClassifierTraining t;
  t.label = "two ranks";
  t.epochs = 4;
  t.batch = 33;
  t.optimizer.lr = 0.01;
  Context ctx(world, stop_after, signal);
  hebbkit::fit_classifier(
      {w1, w2}, [&](const torch::Tensor& b) { return torch::relu(b.matmul(w1)).matmul(w2); },
      [](const torch::Tensor& logits, const torch::Tensor& y) { return torch::nn::functional::cross_entropy(logits, y); },
      x, labels, {}, {}, t, ctx);
  return {w1.detach(), w2.detach()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: fit_two_ranks RANK SIZE PORT_FILE [--die-after-epochs K] [--timeout-ms T] "
                         "[--cuda-world 1]\n");
    return 2;
  }
  hebbkit::parallel::World world;
  world.rank = std::atoi(argv[1]);
  world.size = std::atoi(argv[2]);
  const std::filesystem::path port_file = argv[3];
  int stop_after = -1, signal = SIGKILL;
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--die-after-epochs") stop_after = std::atoi(argv[i + 1]), signal = SIGKILL;
    if (flag == "--hang-after-epochs") stop_after = std::atoi(argv[i + 1]), signal = SIGSTOP;
    if (flag == "--timeout-ms") world.timeout = std::chrono::milliseconds(std::atoi(argv[i + 1]));
    if (flag == "--cuda-world") world.cuda = std::atoi(argv[i + 1]) != 0;
  }
  at::set_num_threads(1);
  const auto alone = train(hebbkit::single_process());
  try {
    if (world.rank != 0) {
      for (int tries = 0; tries < 600 && !std::filesystem::exists(port_file); ++tries)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::ifstream(port_file) >> world.port;
    }
    const auto joined = hebbkit::parallel::join_gloo(world, [&](std::uint16_t port) {
      std::ofstream(port_file.string() + ".tmp") << port;
      std::filesystem::rename(port_file.string() + ".tmp", port_file);
    });
    std::printf("rank %d of %d: backend %s\n", world.rank, world.size, joined->backend().c_str());
    const auto together = train(*joined, stop_after, signal);
    double worst = 0;
    for (std::size_t i = 0; i < alone.size(); ++i)
      worst = std::max(worst, ((together[i] - alone[i]).abs().max() / alone[i].abs().max()).item<double>());
    std::printf("rank %d of %d: largest difference from one process %.3g (relative)\n", world.rank, world.size, worst);
    return worst <= 1e-5 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", world.rank, e.what());
    return 3;
  }
}
