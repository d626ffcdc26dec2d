#include "run/signals.hpp"

#include <atomic>
#include <csignal>

namespace hebbkit::run {
namespace {
std::atomic<bool> interrupted{false};

extern "C" void on_signal(int signal) {
  if (interrupted.exchange(true)) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
  }
}
}  // namespace

void install_interrupt_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}
bool interrupt_requested() { return interrupted.load(); }
void request_interrupt() { interrupted.store(true); }
void clear_interrupt() { interrupted.store(false); }

}  // namespace hebbkit::run
