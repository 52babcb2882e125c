#include "xmpp/datetime.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <ctime>

namespace starling::xmpp {
namespace {

using std::nullopt;

// XEP-0082 §3.2 examples: the first human steps on the Moon.
constexpr std::int64_t kMoon = -14159025;

TEST(DateTime, Xep0082Examples) {
  EXPECT_EQ(parse_datetime("1969-07-21T02:56:15Z"), kMoon);
  EXPECT_EQ(parse_datetime("1969-07-20T21:56:15-05:00"), kMoon);  // Houston time
  EXPECT_EQ(format_datetime(kMoon), "1969-07-21T02:56:15Z");
}

TEST(DateTime, FormatsSeconds) {
  EXPECT_EQ(format_datetime(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_datetime(60), "1970-01-01T00:01:00Z");  // the MUC history stamp test
  EXPECT_EQ(format_datetime(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_datetime(1094805194), "2004-09-10T08:33:14Z");
  EXPECT_EQ(format_datetime(951782400), "2000-02-29T00:00:00Z");
}

// XEP-0203 stamps (offline delays, entity time) carry milliseconds, always three digits.
TEST(DateTime, FormatsMilliseconds) {
  EXPECT_EQ(format_datetime_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_datetime_ms(kMoon * 1000 + 7), "1969-07-21T02:56:15.007Z");
  EXPECT_EQ(format_datetime_ms(1094805194123), "2004-09-10T08:33:14.123Z");
  // Before 1970 a fraction stays inside its own second: -1 ms is 23:59:59.999.
  EXPECT_EQ(format_datetime_ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_datetime_ms(-1000), "1969-12-31T23:59:59.000Z");
  EXPECT_EQ(format_datetime_ms(-1001), "1969-12-31T23:59:58.999Z");
}

// Agrees with the C library for every day across four centuries (leap days, century rules).
TEST(DateTime, AgreesWithGmtime) {
  for (std::int64_t t = -4 * 146097LL * 86400 / 2; t < 4 * 146097LL * 86400 / 2;
       t += 86400 + 3661) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ASSERT_NE(gmtime_r(&tt, &tm), nullptr);
    char want[64];
    std::strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
    ASSERT_EQ(format_datetime(t), want) << t;
    ASSERT_EQ(parse_datetime(want), t) << want;
  }
}

TEST(DateTime, RoundTrips) {
  for (std::int64_t t :
       {std::int64_t{0}, std::int64_t{-1}, kMoon, std::int64_t{951782400}, std::int64_t{1700000000},
        std::int64_t{4102444800}, std::int64_t{253402300799}, std::int64_t{-62167219200}}) {
    EXPECT_EQ(parse_datetime(format_datetime(t)), t) << t;
    EXPECT_EQ(parse_datetime(format_datetime_ms(t * 1000 + 999)), t) << t;
  }
  // From std::chrono, as the callers convert.
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  auto secs = std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
  EXPECT_EQ(parse_datetime(format_datetime_ms(ms)), secs);
  EXPECT_EQ(format_datetime_ms(ms).substr(0, 19), format_datetime(secs).substr(0, 19));
}

// §3.2: fractions are optional, any number of digits, and may be ignored.
TEST(DateTime, FractionsAreIgnored) {
  EXPECT_EQ(parse_datetime("2004-09-10T08:33:14.123Z"), 1094805194);
  EXPECT_EQ(parse_datetime("2004-09-10T08:33:14.999999999999Z"), 1094805194);
  EXPECT_EQ(parse_datetime("2004-09-10T08:33:14.0Z"), 1094805194);
  EXPECT_EQ(parse_datetime("1969-12-31T23:59:59.5Z"), -1);  // toward the past
  EXPECT_EQ(parse_datetime("1970-01-01T01:00:00.123+01:00"), 0);
}

// §3.2 TZD: 'Z' or an offset; '+' is ahead of UTC.
TEST(DateTime, Offsets) {
  EXPECT_EQ(parse_datetime("1970-01-01T02:00:00+02:00"), 0);
  EXPECT_EQ(parse_datetime("1969-12-31T18:30:00-05:30"), 0);
  EXPECT_EQ(parse_datetime("1970-01-01T00:00:00+00:00"), 0);
  EXPECT_EQ(parse_datetime("1970-01-01T00:00:00-00:00"), 0);
  EXPECT_EQ(parse_datetime("2004-09-10T17:18:14+08:45"), 1094805194);
  EXPECT_EQ(parse_datetime("2000-01-01T00:00:00+14:00"), 946684800 - 14 * 3600);
  EXPECT_EQ(parse_datetime("2000-01-01T00:00:00-14:00"), 946684800 + 14 * 3600);
  // An offset crosses the date line and the year.
  EXPECT_EQ(parse_datetime("2000-12-31T23:00:00-02:00"), parse_datetime("2001-01-01T01:00:00Z"));
}

TEST(DateTime, LeapYears) {
  EXPECT_EQ(parse_datetime("2000-02-29T00:00:00Z"), 951782400);   // divisible by 400
  EXPECT_EQ(parse_datetime("2024-02-29T12:00:00Z"), 1709208000);  // divisible by 4
  EXPECT_EQ(parse_datetime("1900-02-29T00:00:00Z"), nullopt);     // divisible by 100 only
  EXPECT_EQ(parse_datetime("2023-02-29T00:00:00Z"), nullopt);
  EXPECT_EQ(parse_datetime("2004-02-30T00:00:00Z"), nullopt);
  EXPECT_EQ(parse_datetime("2004-04-31T00:00:00Z"), nullopt);
  EXPECT_EQ(parse_datetime("2004-12-31T00:00:00Z"), 1104451200);
  EXPECT_EQ(format_datetime(1709208000), "2024-02-29T12:00:00Z");
}

// A second of 60 is a leap second: the old copies accepted it, so the helper does too.
TEST(DateTime, LeapSecond) {
  EXPECT_EQ(parse_datetime("2016-12-31T23:59:60Z"), parse_datetime("2017-01-01T00:00:00Z"));
}

TEST(DateTime, FarDates) {
  EXPECT_EQ(parse_datetime("0000-01-01T00:00:00Z"), -62167219200);
  EXPECT_EQ(parse_datetime("0001-01-01T00:00:00Z"), -62135596800);
  EXPECT_EQ(parse_datetime("9999-12-31T23:59:59Z"), 253402300799);
  EXPECT_EQ(parse_datetime("2038-01-19T03:14:08Z"), 2147483648);  // past 32-bit time_t
  EXPECT_EQ(format_datetime(253402300799), "9999-12-31T23:59:59Z");
  EXPECT_EQ(format_datetime(-62167219200), "0000-01-01T00:00:00Z");
  // Beyond four digits, XML Schema's lexical forms.
  EXPECT_EQ(format_datetime(253402300800), "10000-01-01T00:00:00Z");
  EXPECT_EQ(format_datetime(-62167219201), "-0001-12-31T23:59:59Z");
  // Neither overflows nor crashes at the ends of the range.
  EXPECT_FALSE(format_datetime(INT64_MAX).empty());
  EXPECT_FALSE(format_datetime(INT64_MIN).empty());
  EXPECT_FALSE(format_datetime_ms(INT64_MIN).empty());
}

TEST(DateTime, Malformed) {
  for (const char* bad : {
           "",
           "yesterday",
           "1970-01-01",                    // a Date, not a DateTime
           "1970-01-01T00:00:00",           // TZD is mandatory
           "1970-01-01 00:00:00Z",          // space for 'T'
           "1970-01-01t00:00:00Z",          // lowercase
           "1970-01-01T00:00:00z",          //
           "70-01-01T00:00:00Z",            // two-digit year
           "10000-01-01T00:00:00Z",         // CCYY is four digits
           "-0001-01-01T00:00:00Z",         //
           "1970-1-01T00:00:00Z",           // short fields
           "1970-01-1T00:00:00Z",           //
           "1970-01-01T0:00:00Z",           //
           "1970-01-01T00:00:0Z",           //
           "1970-01-01T00:00Z",             // no seconds
           "1970/01/01T00:00:00Z",          // separators
           "1970-01-01T00.00.00Z",          //
           "1970-00-01T00:00:00Z",          // month 0
           "1970-13-01T00:00:00Z",          // month 13
           "1970-01-00T00:00:00Z",          // day 0
           "1970-01-32T00:00:00Z",          // day 32
           "1970-01-01T24:00:00Z",          // hour 24
           "1970-01-01T00:60:00Z",          // minute 60
           "1970-01-01T00:00:61Z",          // second 61
           "1970-01-01T00:00:00.Z",         // fraction without digits
           "1970-01-01T00:00:00.12a3Z",     //
           "1970-01-01T00:00:00,5Z",        // comma fraction
           "1970-01-01T00:00:00ZZ",         // garbage after
           "1970-01-01T00:00:00Z ",         //
           " 1970-01-01T00:00:00Z",         // garbage before
           "1970-01-01T00:00:00+01",        // offset without minutes
           "1970-01-01T00:00:00+0100",      // offset without colon
           "1970-01-01T00:00:00+01:00Z",    // both
           "1970-01-01T00:00:00+01:60",     // offset minute 60
           "1970-01-01T00:00:00+14:01",     // beyond XML Schema's ±14:00
           "1970-01-01T00:00:00-15:00",     //
           "1970-01-01T00:00:00+1a:00",     //
           "1970-01-01T00:00:00 +01:00",    //
           "+970-01-01T00:00:00Z",          // signs in digit fields
           "1970-+1-01T00:00:00Z",          //
           "1970-01-01T00:00:00.5+01:00x",  //
       }) {
    EXPECT_EQ(parse_datetime(bad), nullopt) << bad;
  }
  // An embedded NUL is not the end of the string.
  EXPECT_EQ(parse_datetime(std::string_view("1970-01-01T00:00:00Z\0", 21)), nullopt);
}

// The behaviours of the copies this helper replaced, kept.
TEST(DateTime, ReplacedCopies) {
  // MUC (room_test): 'since' with fractions and offsets; anything else ignored.
  EXPECT_EQ(parse_datetime("1970-01-01T00:01:00Z"), 60);
  EXPECT_EQ(parse_datetime("1970-01-01T01:00:00.123+01:00"), 0);
  EXPECT_EQ(parse_datetime("1970-01-01 00:00:00"), nullopt);
  // AMP (amp_rules_test) adds its own 'Z' requirement on top.
  EXPECT_EQ(parse_datetime("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_datetime("2004-09-10T08:33:14.123Z"), 1094805194);
  EXPECT_EQ(parse_datetime("2004-09-10T08:33:14.Z"), nullopt);
  // Last activity reads back what presence stores: milliseconds and 'Z'.
  EXPECT_EQ(parse_datetime(format_datetime_ms(1700000000456)), 1700000000);
}

// XEP-0202 §3 <tzo/>.
TEST(DateTime, TimeZoneDefinitions) {
  EXPECT_EQ(format_tzd(0), "+00:00");
  EXPECT_EQ(format_tzd(-6 * 3600), "-06:00");  // XEP-0202 §3 Example 2
  EXPECT_EQ(format_tzd(2 * 3600), "+02:00");
  EXPECT_EQ(format_tzd(5 * 3600 + 45 * 60), "+05:45");     // Nepal
  EXPECT_EQ(format_tzd(-(3 * 3600 + 30 * 60)), "-03:30");  // Newfoundland
  EXPECT_EQ(format_tzd(-(5 * 3600 + 30 * 60)), "-05:30");
  EXPECT_EQ(format_tzd(14 * 3600), "+14:00");
  EXPECT_EQ(format_tzd(3600 + 59), "+01:00");  // seconds dropped
  // What it writes, the parser reads.
  for (long off : {0L, 7200L, -19800L, 50400L, -50400L}) {
    EXPECT_EQ(parse_datetime("1970-01-01T00:00:00" + format_tzd(off)), -off) << off;
  }
}

}  // namespace
}  // namespace starling::xmpp
