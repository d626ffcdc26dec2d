#pragma once
// The ways a process is asked to stop. Ctrl-C, SIGTERM and SIGHUP (a closed terminal or
// ssh session): the first asks the run to stop at the next check and close its folder
// cleanly, a second kills the process the usual way. SIGPIPE (output to a closed pipe) and
// SIGXFSZ (a file-size limit) ask the same, but never kill: the write that caused them
// fails with EPIPE or EFBIG and is reported as the run's error. Handlers are installed
// without SA_RESTART, so a blocking read or wait returns (EINTR) and the flag is seen.
namespace hebbkit::run {
void install_interrupt_handlers();
bool interrupt_requested();
void request_interrupt();  // what the handler does; also for tests
void clear_interrupt();
}  // namespace hebbkit::run
