#pragma once
// What every benchmark needs: wall time of a call and the median over rounds (a shared
// machine drifts by tens of percent within a minute, so benchmarks alternate and take medians).
#include <algorithm>
#include <chrono>
#include <vector>

namespace hebbkit::bench {

/// Milliseconds that fn() took.
template <class Fn>
double ms_of(Fn&& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace hebbkit::bench
