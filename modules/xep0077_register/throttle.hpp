#pragma once
// Per-IP registration throttle: at most `max` accounts created from one address in any window
// of `period`. Not thread-safe: the register module touches it only on the storage executor
// (a single thread). Memory is bounded by the registrations of the last period: an address
// is forgotten once its newest registration is older than the period.
#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <unordered_map>

namespace starling::modules::registration {

class Throttle {
 public:
  using Clock = std::chrono::steady_clock;

  // max == 0: no limit (nothing is tracked).
  Throttle(std::size_t max, std::chrono::seconds period) : max_(max), period_(period) {}

  // True when `ip` may create another account at `now`.
  bool allowed(const std::string& ip, Clock::time_point now);
  // Counts an account created from `ip` at `now`.
  void record(const std::string& ip, Clock::time_point now);
  // Addresses currently tracked (for tests).
  std::size_t tracked() const { return recent_.size(); }

 private:
  void drop_old(std::deque<Clock::time_point>& times, Clock::time_point now) const;
  void sweep(Clock::time_point now);

  std::size_t max_;
  std::chrono::seconds period_;
  std::unordered_map<std::string, std::deque<Clock::time_point>> recent_;
  std::size_t records_since_sweep_ = 0;
};

}  // namespace starling::modules::registration
