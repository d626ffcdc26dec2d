#include "recipe/schema_check.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hebbkit/errors.hpp"
#include "recipe/params_impl.hpp"

namespace hebbkit::recipe {
namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

template <class T>
bool convertible(const YAML::Node& node) {
  if (!node.IsScalar()) return false;
  T value;
  return YAML::convert<T>::decode(node, value);
}

bool scalar_of(ParamType type, const YAML::Node& node) {
  switch (type) {
    case ParamType::Integer:
    case ParamType::Integers: return convertible<std::int64_t>(node);
    case ParamType::Real:
    case ParamType::Reals: return convertible<double>(node);
    case ParamType::Boolean: return convertible<bool>(node);
    default: return node.IsScalar();
  }
}

bool is_list(ParamType type) {
  return type == ParamType::Integers || type == ParamType::Reals || type == ParamType::Strings;
}

const char* expected_text(ParamType type) {
  switch (type) {
    case ParamType::Integer: return "an integer";
    case ParamType::Real: return "a number";
    case ParamType::Boolean: return "true or false";
    case ParamType::String: return "a string";
    case ParamType::Choice: return "one of the listed choices";
    case ParamType::Integers: return "a list of integers";
    case ParamType::Reals: return "a list of numbers";
    case ParamType::Strings: return "a list of strings";
  }
  return "?";
}

std::string show(const YAML::Node& node) {
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a map";
  return "nothing";
}

// Checks one scalar element; returns an error text or "".
std::string check_scalar(const ParamSpec& spec, const YAML::Node& node) {
  const bool whole = spec.type == ParamType::Integer || spec.type == ParamType::Integers;
  if (whole && node.IsScalar() && !scalar_of(spec.type, node)) {
    // Digits that do not fit 64 bits are a number too large, not "not an integer".
    const std::string& text = node.Scalar();
    const std::size_t sign = !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
    if (text.size() > sign && text.find_first_not_of("0123456789", sign) == std::string::npos)
      return fmt::format("{} is beyond the 64-bit integers (at most {}){}", text.size() > 40 ? text.substr(0, 20) + "..." : text,
                         std::numeric_limits<std::int64_t>::max(),
                         spec.constraint_text().empty() ? "" : "; the range is " + spec.constraint_text());
  }
  if (!scalar_of(spec.type, node))
    return fmt::format("expected {}, got {}", is_list(spec.type) ? "list elements to be " +
                       std::string(expected_text(spec.type == ParamType::Integers ? ParamType::Integer
                                   : spec.type == ParamType::Reals ? ParamType::Real : ParamType::String))
                       : expected_text(spec.type), show(node));
  if (spec.type == ParamType::Choice &&
      std::find(spec.choices.begin(), spec.choices.end(), node.Scalar()) == spec.choices.end()) {
    return fmt::format("'{}' is not one of: {}{}", node.Scalar(), fmt::join(spec.choices, ", "),
                       suggestion(node.Scalar(), spec.choices));
  }
  const bool numeric = spec.type == ParamType::Integer || spec.type == ParamType::Real ||
                       spec.type == ParamType::Integers || spec.type == ParamType::Reals;
  if (numeric) {
    // Integers may be written in any YAML integer form (0x64 is 100).
    const bool integral = spec.type == ParamType::Integer || spec.type == ParamType::Integers;
    const double v = integral ? static_cast<double>(node.as<std::int64_t>()) : node.as<double>();
    if (!std::isfinite(v)) return fmt::format("{} is not a finite number", node.Scalar());
    // Values end up in float tensors: beyond float's range they overflow to inf.
    if (!integral && std::abs(v) > std::numeric_limits<float>::max())
      return fmt::format("{} is beyond the range of float (about 3.4e38)", node.Scalar());
    if ((spec.min && v < *spec.min) || (spec.max && v > *spec.max))
      return fmt::format("{} is out of range {}", node.Scalar(), spec.constraint_text());
  }
  return "";
}

}  // namespace

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string suggestion(const std::string& word, const std::vector<std::string>& candidates,
                       const std::string& otherwise) {
  const std::string hint = did_you_mean(word, candidates);
  return hint.empty() ? otherwise : " — did you mean '" + hint + "'?";
}

std::string unknown_key_message(const std::string& key, const std::vector<std::string>& known) {
  return fmt::format("unknown key '{}'{}", key,
                     suggestion(key, known, fmt::format(" (known keys: {})", fmt::join(known, ", "))));
}

Params check_params(const std::shared_ptr<const Document>& doc, const YAML::Node& node,
                    const std::string& path, const ParamSchema& schema,
                    const std::set<std::string>& reserved, std::vector<std::string>& errors) {
  auto where = [&](const std::string& p) { return doc ? doc->where(p) : std::string("<recipe>"); };
  auto impl = std::make_shared<Params::Impl>();
  impl->path = path;
  impl->schema = schema;
  impl->document = doc;
  impl->values = YAML::Node(YAML::NodeType::Map);

  if (node && !node.IsMap() && !node.IsNull()) {
    errors.push_back(fmt::format("{}: {}: expected a map of parameters, got {}", where(path), path,
                                 show(node)));
    return Params(impl);
  }
  std::vector<std::string> known;
  for (const auto& spec : schema) known.push_back(spec.name);

  if (node && node.IsMap()) {
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      if (reserved.count(key)) continue;
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        errors.push_back(
            fmt::format("{}: {}: {}", where(join(path, key)), join(path, key), unknown_key_message(key, known)));
      }
    }
  }

  for (const auto& spec : schema) {
    const std::string key_path = join(path, spec.name);
    const YAML::Node given = (node && node.IsMap()) ? node[spec.name] : YAML::Node();
    if (given && given.IsNull()) {
      errors.push_back(fmt::format("{}: {}: empty value (~ or nothing after the colon); give a value, or leave the key "
                                   "out for its default{}",
                                   where(key_path), key_path,
                                   spec.required || spec.optional ? "" : " (" + spec.default_value + ")"));
      continue;
    }
    if (!given) {
      if (spec.required) {
        errors.push_back(fmt::format("{}: {}: missing required key '{}' ({})", where(path), key_path,
                                     spec.name, spec.doc));
      } else if (!spec.optional) {
        impl->values[spec.name] = YAML::Load(spec.default_value);
      }
      continue;
    }
    std::string problem;
    if (is_list(spec.type)) {
      if (!given.IsSequence()) {
        problem = fmt::format("expected {}, got {}", expected_text(spec.type), show(given));
      } else {
        for (std::size_t i = 0; i < given.size() && problem.empty(); ++i) {
          problem = check_scalar(spec, given[i]);
          if (!problem.empty()) problem = fmt::format("element {}: {}", i, problem);
        }
      }
    } else {
      problem = check_scalar(spec, given);
    }
    if (!problem.empty()) {
      errors.push_back(fmt::format("{}: {}: {}", where(key_path), key_path, problem));
    } else {
      impl->values[spec.name] = YAML::Clone(given);
    }
  }
  return Params(impl);
}

void throw_if_any(const std::vector<std::string>& errors) {
  if (errors.empty()) return;
  std::string text = errors.size() == 1 ? errors[0]
                                        : fmt::format("{} problems in the recipe:\n  {}", errors.size(),
                                                      fmt::join(errors, "\n  "));
  throw RecipeError(text);
}

}  // namespace hebbkit::recipe
