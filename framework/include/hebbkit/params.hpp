#pragma once
// A plugin's parameters as the host sees them: the schema (one source of truth for
// validation, `hebbkit describe` and docs) and the validated recipe node behind a Config
// (hebbkit/config.hpp), which also points at a key's place in the recipe for errors.
#include "hebbkit/export.hpp"
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hebbkit {

enum class ParamType { Integer, Real, Boolean, String, Choice, Integers, Reals, Strings };

/// "integer", "real", ... as shown by `hebbkit describe`.
const char* to_string(ParamType type);

/// One declared parameter as the host validates and describes it. Plugins declare theirs as
/// fields of a Config (hebbkit/config.hpp); the host's own keys use the builders in
/// hebbkit::spec, e.g. `spec::real("p", 3.0, "power of the norm").at_least(2)`.
struct ParamSpec {
  std::string name;
  ParamType type = ParamType::String;
  std::string default_value;  ///< as YAML text; meaningless when required or optional
  std::string doc;
  std::optional<double> min;  ///< inclusive; for lists, applies to every element
  std::optional<double> max;  ///< inclusive
  std::vector<std::string> choices;  ///< for ParamType::Choice
  bool required = false;  ///< no default: the recipe must give it
  bool optional = false;  ///< no default: absent unless given (check Params::has)
  /// A layer's key that shapes only what the layer outputs or draws, not what it learns
  /// (activation, pooling, output power): a run reusing the layer as its top reused layer may
  /// change it and still gets the layer a full run of its own recipe would train.
  bool readout = false;

  ParamSpec& at_least(double lo) { min = lo; return *this; }
  ParamSpec& at_most(double hi) { max = hi; return *this; }
  ParamSpec& in_range(double lo, double hi) { min = lo; max = hi; return *this; }
  ParamSpec& make_required() { required = true; default_value.clear(); return *this; }
  ParamSpec& make_optional() { optional = true; default_value.clear(); return *this; }
  ParamSpec& make_readout() { readout = true; return *this; }

  /// "[2, inf]" (bounds inclusive) or "one of {a, b}" for describe and docs; "" when unconstrained.
  std::string constraint_text() const;
};

using ParamSchema = std::vector<ParamSpec>;

namespace spec {
ParamSpec integer(std::string name, std::int64_t fallback, std::string doc);
ParamSpec real(std::string name, double fallback, std::string doc);
ParamSpec boolean(std::string name, bool fallback, std::string doc);
ParamSpec string(std::string name, std::string fallback, std::string doc);
ParamSpec choice(std::string name, std::string fallback, std::vector<std::string> choices,
                 std::string doc);
ParamSpec integers(std::string name, std::vector<std::int64_t> fallback, std::string doc);
ParamSpec reals(std::string name, std::vector<double> fallback, std::string doc);
ParamSpec strings(std::string name, std::vector<std::string> fallback, std::string doc);
}  // namespace spec

/// The validated values of one plugin node in a recipe. Every declared key is present
/// (given or defaulted) unless declared optional; types and ranges were already checked
/// by the host, so the getters only fail on a programming error (a key not declared).
class HEBBKIT_API Params {
 public:
  struct Impl;
  explicit Params(std::shared_ptr<const Impl> impl);
  ~Params();
  Params(const Params&);
  Params& operator=(const Params&);

  bool has(const std::string& key) const;
  /// Whether the recipe (or a --set) gave the key, rather than its default.
  bool given(const std::string& key) const;
  std::int64_t integer(const std::string& key) const;
  double real(const std::string& key) const;
  bool boolean(const std::string& key) const;
  std::string string(const std::string& key) const;  ///< also for Choice
  std::vector<std::int64_t> integers(const std::string& key) const;
  std::vector<double> reals(const std::string& key) const;
  std::vector<std::string> strings(const std::string& key) const;

  /// Key path of this node in the recipe, e.g. "layers.0.rule".
  const std::string& path() const;
  /// Where a key's value came from: "recipe.yaml:14:7" or "--set layers.0.rule.p=3".
  std::string where(const std::string& key) const;
  /// For checks that involve several values: throws a RecipeError that names the place
  /// and key path, e.g. fail("k", "k = 9 must not exceed hidden = 8").
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

 private:
  std::shared_ptr<const Impl> impl_;
};

}  // namespace hebbkit
