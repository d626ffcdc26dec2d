// Typed parameters (hebbkit/config.hpp): a Config's fields are its schema, its defaults and,
// read from a recipe, its values; groups (OptimizerParams, ConvParams) check how their keys
// combine and fail at the key's place in the recipe.
#include "support/catch.hpp"
#include <fstream>
#include <optional>

#include "hebbkit/config.hpp"
#include "hebbkit/errors.hpp"
#include "hebbkit/optimizer.hpp"
#include "hebbkit/spatial.hpp"
#include "recipe/document.hpp"
#include "recipe/schema_check.hpp"
#include "support/tiny_data.hpp"

using namespace hebbkit;
using Catch::Matchers::Contains;

namespace {

enum class InitKind { Normal, Uniform };
Choices<InitKind> param_choices(InitKind) { return {{InitKind::Normal, "normal"}, {InitKind::Uniform, "uniform"}}; }

struct TypedConfig {
  std::int64_t hidden = param("hidden", 100, "units").at_least(1);
  double p = param("p", 3.0, "power").at_least(2);
  bool shuffle = param("shuffle", true, "shuffle");
  InitKind init = param("init", InitKind::Normal, "init");
  std::string file = param("file", "", "file");
  std::vector<double> eps = param("eps", std::vector<double>{0.1, 0.2}, "list").in_range(0, 1);
  std::int64_t k = param("k", required, "k");
  std::optional<std::string> note = param("note", absent, "note");
  double n = param("n", 1.0, "output power").readout();
  OptimizerParams optimizer{OptimizerDefaults().lr(0.03).momentum(0.9)};
  std::int64_t not_a_key = 7;
};

// `yaml` as a recipe file, checked against C's schema and read into a C.
template <class C>
C read_as(const std::string& yaml) {
  testing::TempDir dir("config");
  {
    std::ofstream(dir / "r.yaml") << yaml;
  }
  auto doc = std::make_shared<recipe::Document>(recipe::load(dir / "r.yaml"));
  std::vector<std::string> errors;
  const Params params = recipe::check_params(doc, doc->root, "", schema_of<C>(), {}, errors);
  recipe::throw_if_any(errors);
  return read_config<C>(params);
}

TypedConfig read_typed(const std::string& yaml) { return read_as<TypedConfig>(yaml); }

const ParamSpec& spec_named(const ParamSchema& schema, const std::string& name) {
  for (const auto& spec : schema)
    if (spec.name == name) return spec;
  FAIL("no parameter " << name);
  throw;
}

}  // namespace

TEST_CASE("a TypedConfig's fields declare its schema: types, defaults, ranges, choices, groups", "[config]") {
  const auto schema = schema_of<TypedConfig>();
  std::vector<std::string> names;
  for (const auto& spec : schema) names.push_back(spec.name);
  CHECK(names == std::vector<std::string>{"hidden", "p", "shuffle", "init", "file", "eps", "k", "note", "n", "optimizer",
                                          "lr", "momentum", "weight_decay", "lr_decay", "lr_step", "lr_milestones", "restart_epochs",
                                          "restart_mult"});
  CHECK(spec_named(schema, "hidden").type == ParamType::Integer);
  CHECK(spec_named(schema, "hidden").default_value == "100");
  CHECK(spec_named(schema, "hidden").min == 1.0);
  CHECK(spec_named(schema, "p").type == ParamType::Real);
  CHECK(spec_named(schema, "shuffle").default_value == "true");
  CHECK(spec_named(schema, "init").type == ParamType::Choice);
  CHECK(spec_named(schema, "init").choices == std::vector<std::string>{"normal", "uniform"});
  CHECK(spec_named(schema, "init").default_value == "normal");
  CHECK(spec_named(schema, "file").type == ParamType::String);
  CHECK(spec_named(schema, "eps").type == ParamType::Reals);
  CHECK(spec_named(schema, "eps").max == 1.0);
  CHECK(spec_named(schema, "k").required);
  CHECK(spec_named(schema, "note").optional);
  CHECK(spec_named(schema, "n").readout);
  CHECK_FALSE(spec_named(schema, "p").readout);
  // The group's keys with this plugin's defaults.
  CHECK(spec_named(schema, "lr").default_value == "0.03");
  CHECK(spec_named(schema, "momentum").default_value == "0.9");
  CHECK(spec_named(schema, "optimizer").choices == std::vector<std::string>{"adam", "adamw", "sgd"});
}

TEST_CASE("TypedConfig{} holds the defaults and declares nothing outside the host", "[config]") {
  const TypedConfig c{};
  CHECK(c.hidden == 100);
  CHECK(c.init == InitKind::Normal);
  CHECK(c.eps == std::vector<double>{0.1, 0.2});
  CHECK(c.k == 0);
  CHECK_FALSE(c.note.has_value());
  CHECK(c.optimizer.lr == 0.03);
  CHECK(c.optimizer.optimizer == OptimizerKind::Adam);
  CHECK(choice_name(InitKind::Uniform) == "uniform");
}

TEST_CASE("read_config gives the recipe's values as typed fields", "[config]") {
  const TypedConfig c = read_typed("k: 4\np: 2.5\ninit: uniform\neps: [0.5]\nnote: hello\noptimizer: sgd\nlr: 0.1\n");
  CHECK(c.k == 4);
  CHECK(c.p == 2.5);
  CHECK(c.hidden == 100);
  CHECK(c.init == InitKind::Uniform);
  CHECK(c.eps == std::vector<double>{0.5});
  CHECK(c.note == std::optional<std::string>("hello"));
  CHECK(c.optimizer.optimizer == OptimizerKind::Sgd);
  CHECK(c.optimizer.lr == 0.1);
  CHECK(c.optimizer.momentum == 0.9);  // the plugin's default
  CHECK(c.not_a_key == 7);
  CHECK_FALSE(read_typed("k: 1\n").note.has_value());
}

TEST_CASE("groups fail at the key when their keys do not combine", "[config][errors]") {
  // A default momentum (0.9 here) is no error with Adam; one the recipe gives is.
  CHECK_NOTHROW(read_typed("k: 1\n"));
  CHECK_THROWS_WITH(read_typed("k: 1\nmomentum: 0.5\n"),
                    Contains("r.yaml:2:1: momentum: momentum is SGD's; Adam and AdamW have their own moments"));
  CHECK_THROWS_WITH(read_typed("k: 1\nrestart_mult: 2\n"), Contains("restart_mult: restart_mult lengthens the cosine cycles"));
  CHECK_THROWS_WITH(read_typed("k: 1\nrestart_epochs: 5\nlr_decay: 0.5\n"),
                    Contains("lr_decay: the cosine schedule (restart_epochs > 0) sets the learning rate itself"));
  CHECK(read_typed("k: 1\nlr_milestones: [10, 17]\n").optimizer.lr_milestones == std::vector<std::int64_t>{10, 17});
  CHECK_THROWS_WITH(read_typed("k: 1\nlr_milestones: [10, 7]\n"),
                    Contains("lr_milestones: epochs must be at least 1 and increasing; [10, 7] is not"));
  CHECK_THROWS_WITH(read_typed("k: 1\nlr_milestones: [3]\nlr_step: 2\n"), Contains("lr_step: lr_milestones lists"));
  CHECK_THROWS_WITH(read_typed("k: 1\nlr_milestones: [3]\nrestart_epochs: 5\n"),
                    Contains("lr_milestones: the cosine schedule"));
}

namespace {
struct TypedConvConfig {
  ConvParams conv{5};
  LayerActivation activation{Activation::Triangle, PoolKind::Max};
};

TypedConvConfig read_conv(const std::string& yaml) { return read_as<TypedConvConfig>(yaml); }
}  // namespace

TEST_CASE("conv and activation groups read their keys, resolve defaults and check them", "[config][spatial]") {
  const auto c = read_conv("padding: same\npool_size: 3\n");
  const ConvGeometry g(c.conv);
  CHECK(g.kernel_h == 5);
  CHECK(g.pad_top == 2);
  CHECK(g.pad_right == 2);
  CHECK(c.activation.activation == Activation::Triangle);
  CHECK(c.activation.pool.kind == PoolKind::Max);
  CHECK(c.activation.pool.stride == 3);  // pool_stride 0: the window size
  CHECK(ConvGeometry(read_conv("padding: 1\n").conv).pad_left == 1);
  CHECK_THROWS_WITH(read_conv("padding: same\nstride: 2\n"), Contains("padding: padding 'same' keeps the input's size"));
  CHECK_THROWS_WITH(read_conv("padding: wide\n"), Contains("padding 'wide' is not a number of pixels"));
  CHECK_THROWS_WITH(read_conv("pool_padding: 2\n"), Contains("pool_padding = 2 is more than half the window"));
  CHECK_THROWS_WITH(read_conv("activation: none\npower: 1.5\n"), Contains("power = 1.5 of an activation"));
}
