#include "modules/xep0160_offline/delay.hpp"

#include <gtest/gtest.h>

namespace starling::modules::offline {
namespace {

// XEP-0082 §3.2 example form "1969-07-21T02:56:15Z", with milliseconds added.
TEST(Delay, Xep0082DateTime) {
  std::tm tm{};
  tm.tm_year = 1969 - 1900;
  tm.tm_mon = 6;
  tm.tm_mday = 21;
  tm.tm_hour = 2;
  tm.tm_min = 56;
  tm.tm_sec = 15;
  auto t = std::chrono::system_clock::from_time_t(timegm(&tm)) + std::chrono::milliseconds(7);
  EXPECT_EQ(xep0082_datetime(t), "1969-07-21T02:56:15.007Z");
}

// XEP-0203 §3 example 1 shape: from and stamp attributes, reason as text.
TEST(Delay, Element) {
  auto d = make_delay("capulet.com", std::chrono::system_clock::from_time_t(0), "Offline Storage");
  EXPECT_EQ(d.name(), "delay");
  EXPECT_EQ(d.xmlns(), "urn:xmpp:delay");
  EXPECT_EQ(d.attr_or("from"), "capulet.com");
  EXPECT_EQ(d.attr_or("stamp"), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(d.text(), "Offline Storage");
}

}  // namespace
}  // namespace starling::modules::offline
