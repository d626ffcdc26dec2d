#include "support/catch.hpp"
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/params.hpp"
#include "recipe/schema_check.hpp"

using namespace hebbkit;
using Catch::Matchers::Contains;

namespace {
const ParamSchema schema = {
    spec::integer("hidden", 100, "units").at_least(1),
    spec::real("p", 3.0, "power").at_least(2),
    spec::boolean("shuffle", true, "shuffle"),
    spec::choice("init", "uniform", {"uniform", "normal"}, "init"),
    spec::string("file", "", "file"),
    spec::reals("eps", {0.1, 0.2}, "list").in_range(0, 1),
    spec::integer("k", 0, "k").make_required(),
    spec::string("note", "", "note").make_optional(),
};

Params check(const std::string& yaml, std::vector<std::string>& errors) {
  auto doc = std::make_shared<recipe::Document>();
  doc->file = "t.yaml";
  doc->root = YAML::Load(yaml);
  return recipe::check_params(doc, doc->root, "", schema, {"name"}, errors);
}
}  // namespace

TEST_CASE("params fill defaults and read typed values", "[params]") {
  std::vector<std::string> errors;
  const Params p = check("{name: x, k: 4, p: 2.5, init: normal, eps: [0.5]}", errors);
  REQUIRE(errors.empty());
  CHECK(p.integer("hidden") == 100);
  CHECK(p.real("p") == 2.5);
  CHECK(p.boolean("shuffle"));
  CHECK(p.string("init") == "normal");
  CHECK(p.string("file").empty());
  CHECK(p.reals("eps") == std::vector<double>{0.5});
  CHECK(p.integer("k") == 4);
  CHECK_FALSE(p.has("note"));
  CHECK_THROWS_AS(p.integer("p"), std::logic_error);       // declared real
  CHECK_THROWS_AS(p.integer("nothing"), std::logic_error);  // not declared
  CHECK_THROWS_WITH(p.fail("k", "k = 4 must not exceed hidden = 3"), Contains("t.yaml: k: k = 4 must not exceed hidden = 3"));
}

TEST_CASE("params report every problem at once", "[params][errors]") {
  std::vector<std::string> errors;
  check("{hiden: 3, p: 1, shuffle: maybe, init: unifrom, eps: [0.5, 2], file: [a]}", errors);
  const std::string all = fmt::format("{}", fmt::join(errors, "\n"));
  CAPTURE(all);
  CHECK(errors.size() == 7);
  CHECK_THAT(all, Contains("unknown key 'hiden' — did you mean 'hidden'?"));
  CHECK_THAT(all, Contains("p: 1 is out of range [2, inf]"));
  CHECK_THAT(all, Contains("shuffle: expected true or false, got 'maybe'"));
  CHECK_THAT(all, Contains("'unifrom' is not one of: uniform, normal — did you mean 'uniform'?"));
  CHECK_THAT(all, Contains("eps: element 1: 2 is out of range [0, 1]"));
  CHECK_THAT(all, Contains("file: expected a string, got a list"));
  CHECK_THAT(all, Contains("missing required key 'k'"));
}

TEST_CASE("did_you_mean only suggests close words", "[params]") {
  CHECK(recipe::did_you_mean("delat", {"delta", "eps0", "hidden"}) == "delta");
  CHECK(recipe::did_you_mean("zzzzzz", {"delta", "eps0"}).empty());
}

TEST_CASE("describe's constraint text shows ranges and choices", "[params]") {
  CHECK(spec::real("p", 3, "").at_least(2).constraint_text() == "[2, inf]");
  CHECK(spec::choice("c", "a", {"a", "b"}, "").constraint_text() == "one of {a, b}");
  CHECK(spec::string("s", "x", "").constraint_text().empty());
}
