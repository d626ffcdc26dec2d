// ParamSpec builders and the Params view plugins read their parameters through.
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hebbkit/config.hpp"
#include "hebbkit/errors.hpp"
#include "recipe/params_impl.hpp"

namespace hebbkit {
namespace {

std::string yaml_list(const std::vector<std::string>& items) {
  return "[" + fmt::format("{}", fmt::join(items, ", ")) + "]";
}

std::string yaml_quoted(const std::string& s) {
  YAML::Emitter out;
  out << YAML::DoubleQuoted << s;
  return out.c_str();
}

ParamSpec make(std::string name, ParamType type, std::string fallback, std::string doc) {
  ParamSpec spec;
  spec.name = std::move(name);
  spec.type = type;
  spec.default_value = std::move(fallback);
  spec.doc = std::move(doc);
  return spec;
}

std::string format_bound(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{}", v);
}

}  // namespace

const char* to_string(ParamType type) {
  switch (type) {
    case ParamType::Integer: return "integer";
    case ParamType::Real: return "real";
    case ParamType::Boolean: return "bool";
    case ParamType::String: return "string";
    case ParamType::Choice: return "choice";
    case ParamType::Integers: return "list of integers";
    case ParamType::Reals: return "list of reals";
    case ParamType::Strings: return "list of strings";
  }
  return "?";
}

std::string ParamSpec::constraint_text() const {
  if (type == ParamType::Choice) return fmt::format("one of {{{}}}", fmt::join(choices, ", "));
  if (!min && !max) return "";
  return fmt::format("[{}, {}]", format_bound(min.value_or(-INFINITY)),
                     format_bound(max.value_or(INFINITY)));
}

namespace spec {
ParamSpec integer(std::string name, std::int64_t fallback, std::string doc) {
  return make(std::move(name), ParamType::Integer, std::to_string(fallback), std::move(doc));
}
ParamSpec real(std::string name, double fallback, std::string doc) {
  return make(std::move(name), ParamType::Real, fmt::format("{}", fallback), std::move(doc));
}
ParamSpec boolean(std::string name, bool fallback, std::string doc) {
  return make(std::move(name), ParamType::Boolean, fallback ? "true" : "false", std::move(doc));
}
ParamSpec string(std::string name, std::string fallback, std::string doc) {
  return make(std::move(name), ParamType::String, yaml_quoted(fallback), std::move(doc));
}
ParamSpec choice(std::string name, std::string fallback, std::vector<std::string> choices,
                 std::string doc) {
  ParamSpec spec = make(std::move(name), ParamType::Choice, fallback, std::move(doc));
  spec.choices = std::move(choices);
  return spec;
}
ParamSpec integers(std::string name, std::vector<std::int64_t> fallback, std::string doc) {
  std::vector<std::string> items;
  for (auto v : fallback) items.push_back(std::to_string(v));
  return make(std::move(name), ParamType::Integers, yaml_list(items), std::move(doc));
}
ParamSpec reals(std::string name, std::vector<double> fallback, std::string doc) {
  std::vector<std::string> items;
  for (auto v : fallback) items.push_back(fmt::format("{}", v));
  return make(std::move(name), ParamType::Reals, yaml_list(items), std::move(doc));
}
ParamSpec strings(std::string name, std::vector<std::string> fallback, std::string doc) {
  std::vector<std::string> items;
  for (auto& v : fallback) items.push_back(yaml_quoted(v));
  return make(std::move(name), ParamType::Strings, yaml_list(items), std::move(doc));
}
}  // namespace spec

Params::Params(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
Params::~Params() = default;
Params::Params(const Params&) = default;
Params& Params::operator=(const Params&) = default;

namespace {
YAML::Node lookup(const Params::Impl& impl, const std::string& key, ParamType expected) {
  for (const auto& spec : impl.schema) {
    if (spec.name != key) continue;
    const bool compatible = spec.type == expected ||
                            (expected == ParamType::String && spec.type == ParamType::Choice);
    if (!compatible)
      throw std::logic_error(fmt::format("{}: parameter '{}' is declared as {}, read as {}", impl.path,
                                         key, to_string(spec.type), to_string(expected)));
    const YAML::Node node = impl.values[key];
    if (!node)
      throw std::logic_error(fmt::format("{}: optional parameter '{}' read without has()", impl.path, key));
    return node;
  }
  throw std::logic_error(fmt::format("{}: parameter '{}' is not declared in the plugin's schema",
                                     impl.path, key));
}

template <class T>
std::vector<T> as_vector(const YAML::Node& node) {
  std::vector<T> out;
  for (const auto& item : node) out.push_back(item.as<T>());
  return out;
}
}  // namespace

bool Params::has(const std::string& key) const { return bool(impl_->values[key]); }
bool Params::given(const std::string& key) const {
  return impl_->document && impl_->document->origins.count(recipe::join(impl_->path, key)) > 0;
}

namespace detail {
namespace {
thread_local ParamScope* current_scope = nullptr;
}
ParamScope* current_param_scope() { return current_scope; }
ParamScopeGuard::ParamScopeGuard(ParamScope& scope) : previous_(current_scope) { current_scope = &scope; }
ParamScopeGuard::~ParamScopeGuard() { current_scope = previous_; }
}  // namespace detail
std::int64_t Params::integer(const std::string& key) const {
  return lookup(*impl_, key, ParamType::Integer).as<std::int64_t>();
}
double Params::real(const std::string& key) const {
  return lookup(*impl_, key, ParamType::Real).as<double>();
}
bool Params::boolean(const std::string& key) const {
  return lookup(*impl_, key, ParamType::Boolean).as<bool>();
}
std::string Params::string(const std::string& key) const {
  return lookup(*impl_, key, ParamType::String).as<std::string>();
}
std::vector<std::int64_t> Params::integers(const std::string& key) const {
  return as_vector<std::int64_t>(lookup(*impl_, key, ParamType::Integers));
}
std::vector<double> Params::reals(const std::string& key) const {
  return as_vector<double>(lookup(*impl_, key, ParamType::Reals));
}
std::vector<std::string> Params::strings(const std::string& key) const {
  return as_vector<std::string>(lookup(*impl_, key, ParamType::Strings));
}

const std::string& Params::path() const { return impl_->path; }

std::string Params::where(const std::string& key) const {
  const std::string key_path = recipe::join(impl_->path, key);
  if (!impl_->document) return key_path;
  if (!impl_->document->origins.count(key_path)) return "default of " + key_path;
  return impl_->document->where(key_path);
}

void Params::fail(const std::string& key, const std::string& message) const {
  const std::string key_path = recipe::join(impl_->path, key);
  const std::string place = impl_->document ? impl_->document->where(key_path) : "<recipe>";
  throw RecipeError(fmt::format("{}: {}: {}", place, key_path, message));
}

}  // namespace hebbkit
