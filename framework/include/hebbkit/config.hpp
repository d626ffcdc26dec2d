#pragma once
// A plugin's parameters as a plain struct: each field is declared once, with its recipe
// key, default, range and help text in its initializer; the field's C++ type is the
// parameter's type.
//
//   enum class Init { Normal, Uniform };
//   hebbkit::Choices<Init> param_choices(Init) { return {{Init::Normal, "normal"}, {Init::Uniform, "uniform"}}; }
//
//   struct Config {
//     std::int64_t hidden = hebbkit::param("hidden", 2000, "number of hidden units").at_least(1);
//     double p = hebbkit::param("p", 3.0, "Lebesgue norm power").at_least(2);
//     Init init = hebbkit::param("init", Init::Normal, "initial synapses");
//     std::optional<double> clip = hebbkit::param("clip", hebbkit::absent, "clip updates at this size");
//     hebbkit::OptimizerParams optimizer{hebbkit::OptimizerDefaults().lr(0.03)};  // a group of keys
//     std::int64_t epochs_done = 0;  // not a parameter: a plain field
//   };
//   explicit MyRule(const Config& config);  // or (const Config&, const hebbkit::Params&) to fail()
//
// How: a `param(...)` initializer runs whenever a Config is constructed. Outside the host it
// gives the default (`Config{}` is the plugin's defaults); while the host builds the schema
// (schema_of) it also records the declaration; while it builds a plugin (read_config) it
// gives the recipe's validated value instead. Enum fields are choices: the enum's
// `param_choices` (found by argument-dependent lookup) names its values as recipes spell them.
// Types: bool, integers, floating point, std::string, enums, std::vector of std::int64_t,
// double or std::string, and std::optional of those (with `absent`: no default).
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "hebbkit/export.hpp"
#include "hebbkit/params.hpp"

namespace hebbkit {

/// An enum's values with the names recipes use, in the order `hebbkit describe` lists them.
template <class E>
using Choices = std::vector<std::pair<E, const char*>>;

/// The recipe's name of an enum value (for logs): choice_name(Init::Normal) == "normal".
template <class E>
std::string choice_name(E value) {
  for (const auto& [v, name] : param_choices(E{})) if (v == value) return name;
  return "?";
}

/// The default of a parameter the recipe must give.
struct Required {};
inline constexpr Required required{};
/// The default of a parameter that may be left out (the field is a std::optional).
struct Absent {};
inline constexpr Absent absent{};

namespace detail {

/// What constructing a Config does with its declarations (see the header's comment).
struct ParamScope {
  ParamSchema* schema = nullptr;   ///< declarations are appended here
  const Params* values = nullptr;  ///< fields take the recipe's values from here
};
HEBBKIT_API ParamScope* current_param_scope();
/// Makes `scope` current for its lifetime (thread-local; restores the previous one).
class HEBBKIT_API ParamScopeGuard {
 public:
  explicit ParamScopeGuard(ParamScope& scope);
  ~ParamScopeGuard();
  ParamScopeGuard(const ParamScopeGuard&) = delete;
  ParamScopeGuard& operator=(const ParamScopeGuard&) = delete;

 private:
  ParamScope* previous_;
};

template <class T>
constexpr bool is_param_type =
    std::is_arithmetic_v<T> || std::is_enum_v<T> || std::is_same_v<T, std::string> ||
    std::is_same_v<T, std::vector<std::int64_t>> || std::is_same_v<T, std::vector<double>> ||
    std::is_same_v<T, std::vector<std::string>>;

// The declaration of a T parameter with default `fallback` (its text for describe).
template <class T>
ParamSpec spec_of(const std::string& name, const T& fallback, const std::string& doc) {
  if constexpr (std::is_same_v<T, bool>) {
    return spec::boolean(name, fallback, doc);
  } else if constexpr (std::is_integral_v<T>) {
    return spec::integer(name, static_cast<std::int64_t>(fallback), doc);
  } else if constexpr (std::is_floating_point_v<T>) {
    return spec::real(name, static_cast<double>(fallback), doc);
  } else if constexpr (std::is_enum_v<T>) {
    std::vector<std::string> names;
    for (const auto& choice : param_choices(T{})) names.emplace_back(choice.second);
    return spec::choice(name, choice_name(fallback), std::move(names), doc);
  } else if constexpr (std::is_same_v<T, std::string>) {
    return spec::string(name, fallback, doc);
  } else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
    return spec::integers(name, fallback, doc);
  } else if constexpr (std::is_same_v<T, std::vector<double>>) {
    return spec::reals(name, fallback, doc);
  } else {
    return spec::strings(name, fallback, doc);
  }
}

// The recipe's value of a T parameter (the host validated it against spec_of's declaration).
template <class T>
T read_value(const Params& values, const std::string& name) {
  if constexpr (std::is_same_v<T, bool>) {
    return values.boolean(name);
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(values.integer(name));
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(values.real(name));
  } else if constexpr (std::is_enum_v<T>) {
    const std::string text = values.string(name);
    for (const auto& [value, choice] : param_choices(T{})) if (text == choice) return value;
    values.fail(name, "'" + text + "' is not one of its choices");
  } else if constexpr (std::is_same_v<T, std::string>) {
    return values.string(name);
  } else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
    return values.integers(name);
  } else if constexpr (std::is_same_v<T, std::vector<double>>) {
    return values.reals(name);
  } else {
    return values.strings(name);
  }
}

}  // namespace detail

/// One parameter's declaration; it becomes the field's value (see the header's comment).
/// D is the default's type: a value convertible to the field's type, `required` or `absent`.
template <class D>
class ParamDecl {
 public:
  ParamDecl(std::string name, D fallback, std::string doc)
      : name_(std::move(name)), fallback_(std::move(fallback)), doc_(std::move(doc)) {}

  /// Inclusive bounds; for lists, every element's.
  ParamDecl& at_least(double lo) { min_ = lo; return *this; }
  ParamDecl& at_most(double hi) { max_ = hi; return *this; }
  ParamDecl& in_range(double lo, double hi) { min_ = lo; max_ = hi; return *this; }
  /// A key that shapes only what a layer outputs or draws (see ParamSpec::readout).
  ParamDecl& readout() { readout_ = true; return *this; }

  template <class T, class = std::enable_if_t<detail::is_param_type<T> && !std::is_same_v<D, Absent> &&
                                              (std::is_same_v<D, Required> || std::is_convertible_v<D, T>)>>
  operator T() const {
    static_assert(!(std::is_integral_v<T> && std::is_floating_point_v<D>),
                  "an integer parameter needs an integer default");
    const auto* scope = detail::current_param_scope();
    if constexpr (std::is_same_v<D, Required>) {
      if (scope && scope->schema) record(detail::spec_of<T>(name_, T{}, doc_).make_required());
      if (scope && scope->values) return detail::read_value<T>(*scope->values, name_);
      return T{};
    } else {
      const T fallback = static_cast<T>(fallback_);
      if (scope && scope->schema) record(detail::spec_of<T>(name_, fallback, doc_));
      if (scope && scope->values) return detail::read_value<T>(*scope->values, name_);
      return fallback;
    }
  }

  template <class T, class = std::enable_if_t<detail::is_param_type<T> && std::is_same_v<D, Absent>>>
  operator std::optional<T>() const {
    const auto* scope = detail::current_param_scope();
    if (scope && scope->schema) record(detail::spec_of<T>(name_, T{}, doc_).make_optional());
    if (scope && scope->values && scope->values->has(name_)) return detail::read_value<T>(*scope->values, name_);
    return std::nullopt;
  }

 private:
  void record(ParamSpec spec) const {
    spec.min = min_;
    spec.max = max_;
    spec.readout = readout_;
    detail::current_param_scope()->schema->push_back(std::move(spec));
  }

  std::string name_;
  D fallback_;
  std::string doc_;
  std::optional<double> min_, max_;
  bool readout_ = false;
};

/// Declares the field it initializes as the recipe key `name` (see the header's comment).
template <class D>
ParamDecl<std::decay_t<D>> param(std::string name, D&& fallback, std::string doc) {
  return {std::move(name), std::forward<D>(fallback), std::move(doc)};
}
/// String defaults stay strings (not pointers).
inline ParamDecl<std::string> param(std::string name, const char* fallback, std::string doc) {
  return {std::move(name), fallback, std::move(doc)};
}

/// The declarations of Config's fields, in order: what `hebbkit describe` lists and the
/// host validates recipes against.
template <class Config>
ParamSchema schema_of() {
  ParamSchema schema;
  detail::ParamScope scope{&schema, nullptr};
  detail::ParamScopeGuard guard(scope);
  Config declared{};
  (void)declared;
  return schema;
}

/// A Config whose fields hold `values` (a recipe node validated against schema_of<Config>()).
/// Groups (e.g. OptimizerParams) check how their keys combine here and fail at the key.
template <class Config>
Config read_config(const Params& values) {
  detail::ParamScope scope{nullptr, &values};
  detail::ParamScopeGuard guard(scope);
  return Config{};
}

/// The Params being read into a Config right now (nullptr outside read_config): for a group's
/// constructor that checks how its keys combine, and fails at one with Params::fail.
inline const Params* params_being_read() {
  const auto* scope = detail::current_param_scope();
  return scope ? scope->values : nullptr;
}

}  // namespace hebbkit
