#pragma once
// The open-loop schedule of the `msg` scenario: message k of a thread is due at
// start + k * interval. Latency is measured from the due time (no coordinated omission), so the
// pacer must send message k as soon as its due time has come, not one interval later.
#include <cstdint>

namespace starling::bench {

class Schedule {
 public:
  Schedule(std::uint64_t start_ns, double interval_ns) : start_(start_ns), interval_(interval_ns) {}
  // When message k is due.
  std::uint64_t due_at(std::uint64_t k) const {
    return start_ + static_cast<std::uint64_t>(static_cast<double>(k) * interval_);
  }
  // How many messages are due at `now` (message 0 is due at the start).
  std::uint64_t due_count(std::uint64_t now) const {
    if (now < start_) {
      return 0;
    }
    std::uint64_t n = static_cast<std::uint64_t>(static_cast<double>(now - start_) / interval_) + 1;
    // Floating point rounding must not count a message whose due time is still ahead.
    while (n > 0 && due_at(n - 1) > now) {
      --n;
    }
    while (due_at(n) <= now) {
      ++n;
    }
    return n;
  }

 private:
  std::uint64_t start_;
  double interval_;
};

}  // namespace starling::bench
