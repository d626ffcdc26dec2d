#pragma once
// Search strategies: which point the next trial runs. Grid walks every combination;
// random samples each dimension uniformly (log-uniformly on log ranges); TPE (the
// tree-structured Parzen estimator of Bergstra et al. 2011, as Optuna and Hyperopt use
// it) starts random, then samples where the best trials' density is high relative to
// the rest's. Every suggestion depends only on the seed, the trial index and the
// results so far, so a continued sweep makes the same choices.
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sweep/space.hpp"

namespace hebbkit::sweep {

struct Observation {
  Point point;
  double value = NAN;  ///< the objective; NaN when failed or pruned
  bool pruned = false; ///< stopped early: counted among the poor trials
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  /// The point of trial `index` given the finished trials, or nullopt when there are no
  /// more (grid: every combination is taken).
  virtual std::optional<Point> suggest(std::size_t index, const std::vector<Observation>& finished) = 0;
  /// How many points exist in all (grid), or 0 when unbounded.
  virtual std::size_t size() const { return 0; }
  /// Whether suggestions wait for results (a Slurm sweep then submits in rounds).
  virtual bool adaptive() const { return false; }
};

/// `name` is grid, random or tpe; `maximize` orders the objective; `trials` is the
/// planned number (TPE samples at random for its first max(4, min(10, trials / 3))).
/// Throws RecipeError when the space does not fit the strategy (a real range in a grid).
std::unique_ptr<Strategy> make_strategy(const std::string& name, const std::vector<Dimension>& dims,
                                        std::uint64_t seed, bool maximize, std::size_t trials);

/// A uniform draw from `d` (log-uniform on a log range), rounded as the sweep stores it.
double sample_uniform(const Dimension& d, std::uint64_t seed, std::size_t index, std::size_t dim);

/// Rounds `x` the way trials are stored: integers exact, reals to 4 significant digits.
double quantize(const Dimension& d, double x);

}  // namespace hebbkit::sweep
