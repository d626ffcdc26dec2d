#include "system/slurm_task.hpp"

#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>

#include "system/command.hpp"

namespace hebbkit::system {

namespace {

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

long number(const char* name, const std::string& text, long low, long high) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || value < low || value > high)
    throw std::runtime_error(fmt::format("{}={}: expected a whole number in {}..{}", name, text, low, high));
  return value;
}

// The first host of a Slurm host list ("node[03-05,07]", "a,b"): scontrol expands it.
std::string first_host(const std::string& list) {
  if (list.find_first_of("[,") == std::string::npos) return list;
  const auto result = run_command({"scontrol", "show", "hostnames", list}, 10);
  if (!result.ok() || result.output.empty())
    throw std::runtime_error(fmt::format("SLURM_STEP_NODELIST={}: `scontrol show hostnames` could not expand it: {}",
                                         list, result.output));
  return result.output.substr(0, result.output.find('\n'));
}

}  // namespace

std::optional<SlurmTask> slurm_task() {
  const auto step = env("SLURM_STEP_ID");
  const auto tasks = env("SLURM_STEP_NUM_TASKS");
  if (!step || !tasks || !env("SLURM_PROCID")) return std::nullopt;
  SlurmTask task;
  task.tasks = static_cast<int>(number("SLURM_STEP_NUM_TASKS", *tasks, 1, 65536));
  if (task.tasks < 2) return std::nullopt;
  task.rank = static_cast<int>(number("SLURM_PROCID", *env("SLURM_PROCID"), 0, task.tasks - 1));
  const auto nodes = env("SLURM_STEP_NODELIST");
  if (!nodes) throw std::runtime_error("SLURM_STEP_NODELIST is not set: where task 0 runs is unknown");
  task.first_host = first_host(*nodes);
  if (const auto port = env("HEBBKIT_RENDEZVOUS_PORT")) {
    task.port = static_cast<std::uint16_t>(number("HEBBKIT_RENDEZVOUS_PORT", *port, 1024, 65535));
  } else {
    const long job = env("SLURM_JOB_ID") ? number("SLURM_JOB_ID", *env("SLURM_JOB_ID"), 0, 1L << 62) : 0;
    const long step_id = number("SLURM_STEP_ID", *step, 0, 1L << 62);
    task.port = static_cast<std::uint16_t>(29500 + (job % 1000) * 16 + step_id % 16);
  }
  if (const auto local = env("SLURM_LOCALID")) task.local_rank = static_cast<int>(number("SLURM_LOCALID", *local, 0, 65535));
  if (const auto cpus = env("SLURM_CPUS_PER_TASK")) task.cpus_per_task = static_cast<int>(number("SLURM_CPUS_PER_TASK", *cpus, 1, 65536));
  return task;
}

}  // namespace hebbkit::system
