#pragma once
// Running another program: from an argument vector (no shell ever sees a path or a value),
// with a timeout, killed with everything it started when it hangs.
#include <functional>
#include <string>
#include <vector>

namespace hebbkit::system {

struct CommandResult {
  int exit_code = 0;         ///< 127 when the program cannot be started
  std::string output;        ///< stdout and stderr together
  bool timed_out = false;    ///< killed (with its process group) after the timeout
  bool interrupted = false;  ///< killed because `stop` said so

  bool ok() const { return exit_code == 0 && !timed_out && !interrupted; }
  /// "exit code 1: <output>", "did not answer within 60 s (killed ...)", for messages.
  std::string describe(double timeout_seconds) const;
};

/// Runs a program found on PATH, stdin from /dev/null, and captures what it prints, for at
/// most `timeout_seconds`: then the program and everything it started (its own process
/// group) are killed. `stop`, asked every 100 ms, ends it early (e.g. on Ctrl-C).
CommandResult run_command(const std::vector<std::string>& argv, double timeout_seconds,
                          const std::function<bool()>& stop = {});

}  // namespace hebbkit::system
