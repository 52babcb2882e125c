#include "modules/xep0077_register/throttle.hpp"

#include <gtest/gtest.h>

namespace starling::modules::registration {
namespace {

using namespace std::chrono_literals;
using Clock = Throttle::Clock;

TEST(Throttle, AllowsMaxPerPeriodPerAddress) {
  Throttle t(2, 3600s);
  Clock::time_point t0{};
  EXPECT_TRUE(t.allowed("192.0.2.1", t0));
  t.record("192.0.2.1", t0);
  EXPECT_TRUE(t.allowed("192.0.2.1", t0 + 1s));
  t.record("192.0.2.1", t0 + 1s);
  EXPECT_FALSE(t.allowed("192.0.2.1", t0 + 2s));
  // Another address has its own budget.
  EXPECT_TRUE(t.allowed("192.0.2.2", t0 + 2s));
  // A sliding window: the first registration leaves it after one period.
  EXPECT_FALSE(t.allowed("192.0.2.1", t0 + 3599s));
  EXPECT_TRUE(t.allowed("192.0.2.1", t0 + 3600s));
  t.record("192.0.2.1", t0 + 3600s);
  EXPECT_FALSE(t.allowed("192.0.2.1", t0 + 3600s));
  EXPECT_TRUE(t.allowed("192.0.2.1", t0 + 3601s));
}

TEST(Throttle, ZeroMeansNoLimitAndNoMemory) {
  Throttle t(0, 60s);
  Clock::time_point t0{};
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(t.allowed("192.0.2.1", t0));
    t.record("192.0.2.1", t0);
  }
  EXPECT_EQ(t.tracked(), 0u);
}

TEST(Throttle, IdleAddressesAreForgotten) {
  Throttle t(1, 10s);
  Clock::time_point t0{};
  for (int i = 0; i < 300; ++i) {
    t.record("198.51.100." + std::to_string(i), t0);
  }
  EXPECT_EQ(t.tracked(), 300u);
  // Later records sweep addresses whose registrations are older than the period.
  for (int i = 0; i < 300; ++i) {
    t.record("203.0.113." + std::to_string(i), t0 + 20s);
  }
  EXPECT_LE(t.tracked(), 300u);
  EXPECT_TRUE(t.allowed("198.51.100.1", t0 + 20s));
  EXPECT_FALSE(t.allowed("203.0.113.1", t0 + 20s));
}

}  // namespace
}  // namespace starling::modules::registration
