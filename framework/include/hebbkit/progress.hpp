#pragma once
#include "hebbkit/export.hpp"
#include <cstdint>
#include <string>

namespace hebbkit {

/// Progress of one long loop, made by RunContext::progress(). On a terminal it draws a
/// bar with rate, ETA and the latest noted metric; otherwise it prints a plain line every
/// few seconds. advance() also checks for Ctrl-C / SIGTERM and throws Interrupted.
class HEBBKIT_API Progress {
 public:
  virtual ~Progress();
  virtual void advance(std::int64_t steps = 1) = 0;
  /// The metric shown beside the bar, e.g. note("loss", 0.31).
  virtual void note(const std::string& name, double value) = 0;
  /// Prints the final line; called by the destructor if not called before.
  virtual void finish() = 0;
};

}  // namespace hebbkit
