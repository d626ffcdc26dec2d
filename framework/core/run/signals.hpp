#pragma once
// Ctrl-C / SIGTERM: the first one asks the run to stop at the next check and close its
// folder cleanly; a second one kills the process the usual way.
namespace hebbkit::run {
void install_interrupt_handlers();
bool interrupt_requested();
void request_interrupt();  // what the handler does; also for tests
void clear_interrupt();
}  // namespace hebbkit::run
