#include "sweep/search.hpp"

#include <algorithm>
#include <numeric>
#include <random>

#include <fmt/format.h>

#include "hebbkit/errors.hpp"

namespace hebbkit::sweep {

namespace {

constexpr double pi = 3.14159265358979323846;

// One generator per (seed, trial, dimension): suggestions do not depend on call order.
std::mt19937_64 generator(std::uint64_t seed, std::size_t index, std::size_t dim) {
  std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                    static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(dim), 0x5eedu};
  return std::mt19937_64(seq);
}

// The modelling space: a choice's index, a value, or its log.
struct Axis {
  double low, high;
  bool log;
  double to(double x) const { return log ? std::log(x) : x; }
  double from(double u) const { return log ? std::exp(u) : u; }
};

Axis axis(const Dimension& d) {
  // Integers get half a step either side so that both ends are as likely as the rest.
  const double pad = d.kind == Dimension::Kind::Integer ? 0.5 : 0.0;
  const double lo = d.log ? std::max(d.lo - pad, d.lo * 0.5) : d.lo - pad;
  Axis a{lo, d.hi + pad, d.log};
  a.low = a.to(a.low);
  a.high = a.to(a.high);
  return a;
}

class Grid final : public Strategy {
 public:
  explicit Grid(const std::vector<Dimension>& dims) {
    for (const auto& d : dims) {
      std::vector<double> values;
      if (d.kind == Dimension::Kind::Choice) {
        for (std::size_t i = 0; i < d.choices.size(); ++i) values.push_back(static_cast<double>(i));
      } else if (d.kind == Dimension::Kind::Integer && d.hi - d.lo <= 1000) {
        for (double v = d.lo; v <= d.hi; v += 1) values.push_back(v);
      } else {
        throw RecipeError(fmt::format("{}: {} = {}: a grid needs a list of choices or an integer range (use "
                                      "strategy random or tpe for a real range)",
                                      d.origin, d.key, d.describe()));
      }
      axes_.push_back(std::move(values));
    }
  }
  std::size_t size() const override {
    std::size_t n = 1;
    for (const auto& a : axes_) n *= a.size();
    return n;
  }
  std::optional<Point> suggest(std::size_t index, const std::vector<Observation>&) override {
    if (index >= size()) return std::nullopt;
    Point p(axes_.size());
    for (std::size_t i = axes_.size(); i-- > 0;) {  // the last key changes fastest
      p[i] = axes_[i][index % axes_[i].size()];
      index /= axes_[i].size();
    }
    return p;
  }

 private:
  std::vector<std::vector<double>> axes_;
};

class Random final : public Strategy {
 public:
  Random(std::vector<Dimension> dims, std::uint64_t seed) : dims_(std::move(dims)), seed_(seed) {}
  std::optional<Point> suggest(std::size_t index, const std::vector<Observation>&) override {
    Point p;
    for (std::size_t i = 0; i < dims_.size(); ++i) p.push_back(sample_uniform(dims_[i], seed_, index, i));
    return p;
  }

 private:
  std::vector<Dimension> dims_;
  std::uint64_t seed_;
};

// A Parzen estimator on one numeric axis: a wide prior plus one Gaussian per
// observation, its width the larger gap to its neighbours (clipped), as in Optuna.
struct Parzen {
  std::vector<double> mu, sigma, weight;

  Parzen(std::vector<double> points, const Axis& a) {
    const double range = a.high - a.low;
    std::sort(points.begin(), points.end());
    const double n = static_cast<double>(points.size());
    const double min_sigma = range / std::min(100.0, 1.0 + n);
    mu.push_back(0.5 * (a.low + a.high));
    sigma.push_back(range);
    weight.push_back(1.0);
    for (std::size_t i = 0; i < points.size(); ++i) {
      const double left = points[i] - (i > 0 ? points[i - 1] : a.low);
      const double right = (i + 1 < points.size() ? points[i + 1] : a.high) - points[i];
      mu.push_back(points[i]);
      sigma.push_back(std::clamp(std::max(left, right), min_sigma, range));
      weight.push_back(1.0);
    }
  }
  double log_density(double u) const {
    double total = 0, sum = 0;
    for (std::size_t i = 0; i < mu.size(); ++i) {
      const double z = (u - mu[i]) / sigma[i];
      total += weight[i] * std::exp(-0.5 * z * z) / (sigma[i] * std::sqrt(2 * pi));
      sum += weight[i];
    }
    return std::log(std::max(total / sum, 1e-300));
  }
  double sample(std::mt19937_64& rng, const Axis& a) const {
    std::discrete_distribution<std::size_t> pick(weight.begin(), weight.end());
    const std::size_t i = pick(rng);
    std::normal_distribution<double> normal(mu[i], sigma[i]);
    for (int attempt = 0; attempt < 100; ++attempt) {  // truncated to the range
      const double u = normal(rng);
      if (u >= a.low && u <= a.high) return u;
    }
    return std::clamp(mu[i], a.low, a.high);
  }
};

class Tpe final : public Strategy {
 public:
  Tpe(std::vector<Dimension> dims, std::uint64_t seed, bool maximize, std::size_t trials)
      : dims_(std::move(dims)), seed_(seed), maximize_(maximize),
        startup_(std::max<std::size_t>(4, std::min<std::size_t>(10, trials / 3))) {}
  bool adaptive() const override { return true; }

  std::optional<Point> suggest(std::size_t index, const std::vector<Observation>& finished) override {
    std::vector<const Observation*> ranked;
    for (const auto& o : finished)
      if (o.pruned || std::isfinite(o.value)) ranked.push_back(&o);
    Point p;
    if (ranked.size() < startup_) {
      for (std::size_t i = 0; i < dims_.size(); ++i) p.push_back(sample_uniform(dims_[i], seed_, index, i));
      return p;
    }
    // Best first; pruned trials rank below every finished one.
    std::stable_sort(ranked.begin(), ranked.end(), [&](const Observation* a, const Observation* b) {
      if (a->pruned != b->pruned) return !a->pruned;
      if (a->pruned) return false;
      return maximize_ ? a->value > b->value : a->value < b->value;
    });
    const std::size_t n = ranked.size();
    const std::size_t good = std::clamp<std::size_t>(static_cast<std::size_t>(std::ceil(0.1 * n)), 1, 25);
    for (std::size_t i = 0; i < dims_.size(); ++i) {
      auto rng = generator(seed_, index, i);
      std::vector<double> below, above;
      for (std::size_t r = 0; r < n; ++r) (r < good ? below : above).push_back(ranked[r]->point[i]);
      p.push_back(quantize(dims_[i], dims_[i].kind == Dimension::Kind::Choice ? pick_choice(i, below, above, rng)
                                                                               : pick_number(i, below, above, rng)));
    }
    return p;
  }

 private:
  static constexpr int candidates = 24;

  double pick_number(std::size_t i, const std::vector<double>& below, const std::vector<double>& above,
                     std::mt19937_64& rng) const {
    const Axis a = axis(dims_[i]);
    std::vector<double> ub, ua;
    for (double x : below) ub.push_back(a.to(x));
    for (double x : above) ua.push_back(a.to(x));
    const Parzen l(ub, a), g(ua, a);
    double best = 0, best_score = -INFINITY;
    for (int c = 0; c < candidates; ++c) {
      const double u = l.sample(rng, a);
      const double score = l.log_density(u) - g.log_density(u);
      if (score > best_score) best_score = score, best = u;
    }
    return a.from(best);
  }

  double pick_choice(std::size_t i, const std::vector<double>& below, const std::vector<double>& above,
                     std::mt19937_64& rng) const {
    const std::size_t k = dims_[i].choices.size();
    std::vector<double> l(k, 1.0 / static_cast<double>(k)), g(k, 1.0 / static_cast<double>(k));
    for (double x : below) l[static_cast<std::size_t>(x)] += 1;
    for (double x : above) g[static_cast<std::size_t>(x)] += 1;
    const double sl = std::accumulate(l.begin(), l.end(), 0.0), sg = std::accumulate(g.begin(), g.end(), 0.0);
    std::discrete_distribution<std::size_t> draw(l.begin(), l.end());
    std::size_t best = 0;
    double best_score = -INFINITY;
    for (int c = 0; c < candidates; ++c) {
      const std::size_t x = draw(rng);
      const double score = std::log(l[x] / sl) - std::log(g[x] / sg);
      if (score > best_score) best_score = score, best = x;
    }
    return static_cast<double>(best);
  }

  std::vector<Dimension> dims_;
  std::uint64_t seed_;
  bool maximize_;
  std::size_t startup_;
};

}  // namespace

double quantize(const Dimension& d, double x) {
  switch (d.kind) {
    case Dimension::Kind::Choice:
      return std::clamp(std::round(x), 0.0, static_cast<double>(d.choices.size() - 1));
    case Dimension::Kind::Integer: return std::clamp(std::round(x), d.lo, d.hi);
    case Dimension::Kind::Real: {
      if (x == 0 || !std::isfinite(x)) return std::clamp(x, d.lo, d.hi);
      const double scale = std::pow(10.0, 3 - std::floor(std::log10(std::fabs(x))));
      return std::clamp(std::round(x * scale) / scale, d.lo, d.hi);
    }
  }
  return x;
}

double sample_uniform(const Dimension& d, std::uint64_t seed, std::size_t index, std::size_t dim) {
  auto rng = generator(seed, index, dim);
  if (d.kind == Dimension::Kind::Choice)
    return static_cast<double>(std::uniform_int_distribution<std::size_t>(0, d.choices.size() - 1)(rng));
  const Axis a = axis(d);
  return quantize(d, a.from(std::uniform_real_distribution<double>(a.low, a.high)(rng)));
}

std::unique_ptr<Strategy> make_strategy(const std::string& name, const std::vector<Dimension>& dims,
                                        std::uint64_t seed, bool maximize, std::size_t trials) {
  if (name == "grid") return std::make_unique<Grid>(dims);
  if (name == "random") return std::make_unique<Random>(dims, seed);
  if (name == "tpe") return std::make_unique<Tpe>(dims, seed, maximize, trials);
  throw RecipeError(fmt::format("sweep strategy '{}': expected grid, random or tpe", name));
}

}  // namespace hebbkit::sweep
