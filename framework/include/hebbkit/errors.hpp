#pragma once
#include "hebbkit/export.hpp"
#include <stdexcept>
#include <string>

namespace hebbkit {

/// A mistake in a recipe, an override or a plugin's parameters. The message already names
/// where (file:line:col or the --set text) and the key path. The CLI exits with code 2.
class HEBBKIT_API RecipeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A missing, truncated or foreign data file. The message names the file.
class HEBBKIT_API DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Thrown from RunContext::check_interrupted() after Ctrl-C or SIGTERM; the host then
/// closes the run with status "interrupted", keeping everything already written.
class HEBBKIT_API Interrupted : public std::runtime_error {
 public:
  Interrupted() : std::runtime_error("interrupted by signal") {}
};

/// Training diverged (a NaN or Inf loss, an exploding weight). Never swallowed.
class HEBBKIT_API NumericalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace hebbkit
