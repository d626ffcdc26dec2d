#include "sweep/space.hpp"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hebbkit/errors.hpp"

namespace hebbkit::sweep {

namespace {

bool is_integer_text(const std::string& text) {
  if (text.empty()) return false;
  std::size_t i = text[0] == '-' || text[0] == '+' ? 1 : 0;
  if (i == text.size()) return false;
  for (; i < text.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  return true;
}

bool read_number(const std::string& text, double& value) {
  try {
    std::size_t used = 0;
    value = std::stod(text, &used);
    return used == text.size() && std::isfinite(value);
  } catch (const std::exception&) {
    return false;
  }
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

void check_range(const Dimension& d, const std::string& where) {
  if (!(d.lo <= d.hi))
    throw RecipeError(fmt::format("{}: {}: the range's low end {} is above its high end {}", where, d.key, d.lo, d.hi));
  if (d.log && d.lo <= 0)
    throw RecipeError(fmt::format("{}: {}: a log-scale range needs a positive low end, got {}", where, d.key, d.lo));
  // Points are doubles: integers are exact up to 2^53, and an integer key is 64-bit.
  constexpr double exact = 9007199254740992.0;
  if (d.kind == Dimension::Kind::Integer && (std::abs(d.lo) > exact || std::abs(d.hi) > exact))
    throw RecipeError(fmt::format("{}: {}: an integer range must lie within +-{:.0f} (2^53), got {:.3g}..{:.3g}", where,
                                  d.key, exact, d.lo, d.hi));
}

std::string scalar_text(const YAML::Node& node) {
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

}  // namespace

std::string Dimension::value_text(double x) const {
  switch (kind) {
    case Kind::Choice: return choices.at(static_cast<std::size_t>(x));
    case Kind::Integer: return fmt::format("{}", static_cast<long long>(std::llround(x)));
    case Kind::Real: {
      // Always with a point or exponent, so YAML reads a real even for 1.0.
      std::string text = fmt::format("{}", x);
      if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
      return text;
    }
  }
  return "";
}

bool Dimension::numeric_choices() const {
  double ignored = 0;
  for (const auto& c : choices)
    if (!read_number(c, ignored)) return false;
  return !choices.empty();
}

std::string Dimension::describe() const {
  switch (kind) {
    case Kind::Choice: return fmt::format("[{}]", fmt::join(choices, ", "));
    case Kind::Integer: return fmt::format("int {}..{}{}", lo, hi, log ? " log" : "");
    case Kind::Real: return fmt::format("real {}..{}{}", lo, hi, log ? " log" : "");
  }
  return "";
}

YAML::Node Dimension::to_yaml() const {
  YAML::Node node;
  if (kind == Kind::Choice) {
    for (const auto& c : choices) node["choices"].push_back(c);
  } else {
    node[kind == Kind::Integer ? "int" : "float"].push_back(lo);
    node[kind == Kind::Integer ? "int" : "float"].push_back(hi);
    if (log) node["log"] = true;
  }
  return node;
}

Dimension parse_param(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw RecipeError(fmt::format("--param {}: expected KEY=a,b,c (choices) or KEY=lo:hi[:log] (a range), "
                                  "e.g. layers.0.rule.p=2,3,4 or layers.0.rule.delta=0.1:0.5",
                                  text));
  Dimension d;
  d.key = trim(text.substr(0, eq));
  d.origin = "--param " + text;
  const std::string spec = trim(text.substr(eq + 1));
  // A range has a colon outside brackets and quotes; a choice list never needs one.
  const bool range = spec.find(':') != std::string::npos && spec.find_first_of("[{\"'") == std::string::npos;
  if (!range) {
    std::size_t start = 0;
    int depth = 0;
    for (std::size_t i = 0; i <= spec.size(); ++i) {
      const char c = i < spec.size() ? spec[i] : ',';
      if (c == '[' || c == '{') ++depth;
      if (c == ']' || c == '}') --depth;
      if (c == ',' && depth == 0) {
        const std::string item = trim(spec.substr(start, i - start));
        if (item.empty()) throw RecipeError(fmt::format("{}: an empty choice", d.origin));
        try {
          d.choices.push_back(scalar_text(YAML::Load(item)));
        } catch (const YAML::Exception& e) {
          throw RecipeError(fmt::format("{}: choice '{}' is not a YAML value: {}", d.origin, item, e.msg));
        }
        start = i + 1;
      }
    }
    return d;
  }
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= spec.size(); ++i)
    if (i == spec.size() || spec[i] == ':') {
      parts.push_back(trim(spec.substr(start, i - start)));
      start = i + 1;
    }
  if (parts.size() == 3) {
    if (parts[2] != "log")
      throw RecipeError(fmt::format("{}: the third part of a range can only be 'log', got '{}'", d.origin, parts[2]));
    d.log = true;
  } else if (parts.size() != 2) {
    throw RecipeError(fmt::format("{}: a range is lo:hi or lo:hi:log", d.origin));
  }
  if (!read_number(parts[0], d.lo) || !read_number(parts[1], d.hi))
    throw RecipeError(fmt::format("{}: range ends must be numbers, got '{}' and '{}'", d.origin, parts[0], parts[1]));
  d.kind = is_integer_text(parts[0]) && is_integer_text(parts[1]) ? Dimension::Kind::Integer : Dimension::Kind::Real;
  check_range(d, d.origin);
  return d;
}

Dimension parse_param(const std::string& key, const YAML::Node& node, const std::string& where) {
  Dimension d;
  d.key = key;
  d.origin = where;
  if (node.IsSequence()) {
    if (node.size() == 0) throw RecipeError(fmt::format("{}: sweep.params.{}: the list of choices is empty", where, key));
    for (const auto& item : node) d.choices.push_back(scalar_text(item));
    return d;
  }
  const auto fail = [&](const std::string& why) {
    throw RecipeError(fmt::format("{}: sweep.params.{}: {} (expected a list of choices, {{int: [lo, hi]}} or "
                                  "{{float: [lo, hi], log: true}})",
                                  where, key, why));
  };
  if (!node.IsMap()) fail(fmt::format("got '{}'", scalar_text(node)));
  int kinds = 0;
  for (const auto& kv : node) {
    const std::string k = kv.first.Scalar();
    if (k == "int" || k == "float") {
      ++kinds;
      d.kind = k == "int" ? Dimension::Kind::Integer : Dimension::Kind::Real;
      if (!kv.second.IsSequence() || kv.second.size() != 2) fail(fmt::format("{} needs [lo, hi]", k));
      const std::string lo = kv.second[0].Scalar(), hi = kv.second[1].Scalar();
      if (!read_number(lo, d.lo) || !read_number(hi, d.hi)) fail(fmt::format("{}: [{}, {}] are not numbers", k, lo, hi));
      if (k == "int" && (!is_integer_text(lo) || !is_integer_text(hi)))
        fail(fmt::format("int: [{}, {}] are not whole numbers", lo, hi));
    } else if (k == "log") {
      if (!kv.second.IsScalar() || (kv.second.Scalar() != "true" && kv.second.Scalar() != "false"))
        fail("log must be true or false");
      d.log = kv.second.Scalar() == "true";
    } else if (k == "choices") {
      ++kinds;
      if (!kv.second.IsSequence() || kv.second.size() == 0) fail("choices must be a non-empty list");
      for (const auto& item : kv.second) d.choices.push_back(scalar_text(item));
    } else {
      fail(fmt::format("unknown key '{}'", k));
    }
  }
  if (kinds != 1) fail("give exactly one of int, float, choices");
  if (d.kind == Dimension::Kind::Choice && d.log) fail("log applies to ranges only");
  check_range(d, where);
  return d;
}

std::vector<std::string> overrides(const std::vector<Dimension>& dims, const Point& point) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < dims.size(); ++i) out.push_back(dims[i].key + "=" + dims[i].value_text(point.at(i)));
  return out;
}

}  // namespace hebbkit::sweep
