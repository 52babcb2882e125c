#include "bench/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace starling::bench {

std::size_t Histogram::bucket_of(std::uint64_t v) {
  if (v < kLinear) {
    return static_cast<std::size_t>(v);
  }
  // Octave e holds [2^e, 2^(e+1)); its 64 sub-buckets are 2^(e-6) wide.
  const int e = std::bit_width(v) - 1;  // >= 7
  const int octave = e - (kSubBits + 1);
  if (octave >= kOctaves) {
    return kBuckets - 1;
  }
  const std::uint64_t sub = (v >> (e - kSubBits)) & ((1u << kSubBits) - 1);
  return static_cast<std::size_t>(kLinear + (static_cast<std::uint64_t>(octave) << kSubBits) + sub);
}

std::uint64_t Histogram::bucket_upper(std::size_t b) {
  if (b < kLinear) {
    return b;
  }
  const std::uint64_t rel = b - kLinear;
  const int e = static_cast<int>(rel >> kSubBits) + kSubBits + 1;
  const std::uint64_t sub = rel & ((1u << kSubBits) - 1);
  const std::uint64_t width = std::uint64_t{1} << (e - kSubBits);
  return (std::uint64_t{1} << e) + (sub + 1) * width - 1;
}

void Histogram::record(std::uint64_t v) {
  ++buckets_[bucket_of(v)];
  ++count_;
  sum_ += v;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
}

void Histogram::merge(const Histogram& o) {
  for (std::size_t i = 0; i < kBuckets; ++i) {
    buckets_[i] += o.buckets_[i];
  }
  count_ += o.count_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

void Histogram::clear() { *this = Histogram(); }

std::uint64_t Histogram::percentile(double p) const {
  if (count_ == 0) {
    return 0;
  }
  p = std::clamp(p, 0.0, 100.0);
  // Rank of the wanted value, 1-based: ceil(p/100 * n), at least 1.
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::max<std::uint64_t>(rank, 1);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      return std::clamp(bucket_upper(i), min(), max_);
    }
  }
  return max_;
}

}  // namespace starling::bench
