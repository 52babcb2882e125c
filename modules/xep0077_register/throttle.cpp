#include "modules/xep0077_register/throttle.hpp"

namespace starling::modules::registration {

namespace {
constexpr std::size_t kSweepEvery = 256;  // records between sweeps of idle addresses
}

void Throttle::drop_old(std::deque<Clock::time_point>& times, Clock::time_point now) const {
  while (!times.empty() && now - times.front() >= period_) {
    times.pop_front();
  }
}

void Throttle::sweep(Clock::time_point now) {
  for (auto it = recent_.begin(); it != recent_.end();) {
    drop_old(it->second, now);
    it = it->second.empty() ? recent_.erase(it) : std::next(it);
  }
}

bool Throttle::allowed(const std::string& ip, Clock::time_point now) {
  if (max_ == 0) {
    return true;
  }
  auto it = recent_.find(ip);
  if (it == recent_.end()) {
    return true;
  }
  drop_old(it->second, now);
  if (it->second.empty()) {
    recent_.erase(it);
    return true;
  }
  return it->second.size() < max_;
}

void Throttle::record(const std::string& ip, Clock::time_point now) {
  if (max_ == 0) {
    return;
  }
  if (++records_since_sweep_ >= kSweepEvery) {
    records_since_sweep_ = 0;
    sweep(now);
  }
  auto& times = recent_[ip];
  drop_old(times, now);
  times.push_back(now);
  while (times.size() > max_) {
    times.pop_front();  // only the newest `max` matter for the next decision
  }
}

}  // namespace starling::modules::registration
