#include "run/signals.hpp"

#include <signal.h>

#include <atomic>
#include <initializer_list>

namespace hebbkit::run {
namespace {
std::atomic<bool> interrupted{false};

extern "C" void on_stop_signal(int signal) {
  if (interrupted.exchange(true)) {
    ::signal(signal, SIG_DFL);
    ::raise(signal);
  }
}

extern "C" void on_failed_write_signal(int) { interrupted.store(true); }

void handle(int signal, void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR
  ::sigaction(signal, &action, nullptr);
}
}  // namespace

void install_interrupt_handlers() {
  for (const int signal : {SIGINT, SIGTERM, SIGHUP}) handle(signal, on_stop_signal);
  for (const int signal : {SIGPIPE, SIGXFSZ}) handle(signal, on_failed_write_signal);
}
bool interrupt_requested() { return interrupted.load(); }
void request_interrupt() { interrupted.store(true); }
void clear_interrupt() { interrupted.store(false); }

}  // namespace hebbkit::run
