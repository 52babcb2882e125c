#include "modules/xep0202_time/tzo.hpp"

#include <gtest/gtest.h>

namespace starling::modules::time_ns {
namespace {

TEST(Tzo, FormatsXep0082TimeZoneDefinitions) {
  EXPECT_EQ(tzo(0), "+00:00");
  EXPECT_EQ(tzo(-6 * 3600), "-06:00");  // XEP-0202 §3 Example 2
  EXPECT_EQ(tzo(2 * 3600), "+02:00");
  EXPECT_EQ(tzo(5 * 3600 + 45 * 60), "+05:45");   // Nepal
  EXPECT_EQ(tzo(-(3 * 3600 + 30 * 60)), "-03:30");  // Newfoundland
  EXPECT_EQ(tzo(14 * 3600), "+14:00");
}

}  // namespace
}  // namespace starling::modules::time_ns
