#pragma once
// What a sweep searches: parameters named by their recipe key path, each a list of
// choices or a numeric range (integer, real, optionally log-scaled), and the points in
// that space as the `--set` overrides a trial runs with.
#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace hebbkit::sweep {

struct Dimension {
  enum class Kind { Choice, Integer, Real };
  std::string key;                   ///< recipe key path, e.g. layers.0.rule.p
  Kind kind = Kind::Choice;
  std::vector<std::string> choices;  ///< YAML texts of the values (Choice)
  double lo = 0, hi = 0;             ///< inclusive bounds (Integer, Real)
  bool log = false;                  ///< sampled and modelled on a log scale
  std::string origin;                ///< where it was given, for errors

  /// The value at coordinate `x` as YAML text: choices[x], an integer, or a real.
  std::string value_text(double x) const;
  /// Choice coordinates are indices; numeric ones are values. True when every choice is a number.
  bool numeric_choices() const;
  /// "[2, 3, 4]", "int 2..10", "real 0.01..0.1 log": for tables and errors.
  std::string describe() const;
  /// Canonical form kept in sweep.json and compared when a sweep is continued.
  YAML::Node to_yaml() const;
};

/// One point: a coordinate per dimension (a choice's index, or the value).
using Point = std::vector<double>;

/// `KEY=a,b,c` (choices, each read as YAML), `KEY=lo:hi` (integers if both are, else
/// reals), `KEY=lo:hi:log`. Throws RecipeError naming `text`.
Dimension parse_param(const std::string& text);

/// One entry of a recipe's `sweep.params` map: a list (choices), {int: [lo, hi]},
/// {float: [lo, hi]}, optionally with log: true. Throws RecipeError naming `where`.
Dimension parse_param(const std::string& key, const YAML::Node& node, const std::string& where);

/// The `--set` texts that put `point` into a recipe.
std::vector<std::string> overrides(const std::vector<Dimension>& dims, const Point& point);

}  // namespace hebbkit::sweep
