#include "modules/xep0160_offline/delay.hpp"

#include <gtest/gtest.h>

namespace starling::modules::offline {
namespace {

// XEP-0082 §3.2 example form "1969-07-21T02:56:15Z", with milliseconds added.
TEST(Delay, StampHasMilliseconds) {
  using namespace std::chrono;
  auto t = system_clock::time_point(sys_days(1969y / July / 21) + 2h + 56min + 15s + 7ms);
  EXPECT_EQ(make_delay("capulet.com", t, "").attr_or("stamp"), "1969-07-21T02:56:15.007Z");
}

// XEP-0203 §3 example 1 shape: from and stamp attributes, reason as text.
TEST(Delay, Element) {
  auto d = make_delay("capulet.com", std::chrono::system_clock::from_time_t(0), "Offline Storage");
  EXPECT_EQ(d.name(), "delay");
  EXPECT_EQ(d.xmlns(), "urn:xmpp:delay");
  EXPECT_EQ(d.attr_or("from"), "capulet.com");
  EXPECT_EQ(d.attr_or("stamp"), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(d.text(), "Offline Storage");
  // Half a millisecond before 1970 is still in 1969.
  auto before = std::chrono::system_clock::time_point(-std::chrono::microseconds(500));
  EXPECT_EQ(make_delay("capulet.com", before, "").attr_or("stamp"), "1969-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace starling::modules::offline
