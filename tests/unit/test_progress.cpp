#include "support/catch.hpp"

#include "hebbkit/errors.hpp"
#include "run/progress_display.hpp"
#include "run/signals.hpp"
#include "support/recipe_runs.hpp"

using namespace hebbkit;
using Catch::Matchers::Contains;

TEST_CASE("plain progress lines carry count, rate, ETA and the latest metric", "[progress]") {
  std::vector<std::string> lines;
  {
    auto p = run::make_progress("train", 4, "epoch", run::ProgressStyle::Lines, 0.0,
                                [&](const std::string& line) { lines.push_back(line); });
    p->note("loss", 0.25);
    p->advance();
    p->advance(3);
  }  // the destructor's final line is skipped: the last periodic line already said 4/4
  REQUIRE(lines.size() == 2);
  CHECK_THAT(lines[0], Contains("train: 25% 1/4 epoch") && Contains("ETA") && Contains("loss=0.25"));
  CHECK_THAT(lines[1], Contains("100% 4/4 epoch"));
}

TEST_CASE("the final progress line is printed when the last periodic one is stale", "[progress]") {
  std::vector<std::string> lines;
  {
    auto p = run::make_progress("x", 3, "step", run::ProgressStyle::Lines, 3600.0,
                                [&](const std::string& line) { lines.push_back(line); });
    p->advance(3);
  }
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], Contains("x: 100% 3/3 step"));
}

TEST_CASE("progress notices an interrupt", "[progress][interrupt]") {
  auto p = run::make_progress("x", 10, "step", run::ProgressStyle::Silent, 1.0, [](const std::string&) {});
  const testing::ScopedInterrupt interrupt;
  CHECK_THROWS_AS(p->advance(), Interrupted);
}

TEST_CASE("durations read as h:mm:ss", "[progress]") {
  CHECK(run::format_duration(5) == "0:05");
  CHECK(run::format_duration(125) == "2:05");
  CHECK(run::format_duration(3725) == "1:02:05");
}
