#pragma once
// Latency histogram with log-linear buckets (values in microseconds): exact below 128 µs, then 64
// sub-buckets per power of two, so a percentile is within 1/64 (1.6 %) of the true value. Fixed
// size, no allocation when recording; one per thread, merged at the end.
#include <array>
#include <cstdint>

namespace starling::bench {

class Histogram {
 public:
  static constexpr int kSubBits = 6;                        // 64 sub-buckets per octave
  static constexpr std::uint64_t kLinear = 2u << kSubBits;  // values below are exact (128)
  static constexpr int kOctaves = 40;                       // up to 2^46 µs: far beyond any run
  static constexpr std::size_t kBuckets = kLinear + (kOctaves << kSubBits);

  void record(std::uint64_t value_us);
  void merge(const Histogram& other);
  void clear();

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }
  // The smallest recorded value v such that at least p % of the values are <= v, rounded up to
  // the upper bound of its bucket (never above max()). 0 when empty. p in [0, 100].
  std::uint64_t percentile(double p) const;

  static std::size_t bucket_of(std::uint64_t value_us);
  static std::uint64_t bucket_upper(std::size_t bucket);  // largest value in the bucket

 private:
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
};

}  // namespace starling::bench
