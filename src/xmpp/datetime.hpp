#pragma once
// XEP-0082 date and time profiles: the one formatter and parser for every stamp the server
// writes or reads (XEP-0203 delays, XEP-0202 entity time, MUC history 'since', pubsub expiry,
// AMP expire-at, stored last-activity times). Times are unix seconds or milliseconds in the
// proleptic Gregorian calendar, leap seconds not counted (as std::chrono::system_clock); the
// header stays free of <chrono> because it is included widely.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace starling::xmpp {

// XEP-0082 §3.2 DateTime in UTC to the second: "1969-07-21T02:56:15Z". Years outside 0000-9999
// are written as XML Schema does ("-0001", "10000").
std::string format_datetime(std::int64_t unix_seconds);

// The same with milliseconds, always three digits: "1969-07-21T02:56:15.007Z". Rounds toward
// the past, so a time before 1970 stays in its own second.
std::string format_datetime_ms(std::int64_t unix_millis);

// XEP-0082 §3.1 TZD for an offset east of UTC in seconds: "+02:00", "-05:30", "+00:00" (as
// XEP-0202 §3 <tzo/> uses it). Seconds within the minute are dropped.
std::string format_tzd(long offset_seconds);

// Parses a XEP-0082 §3.2 DateTime, CCYY-MM-DDThh:mm:ss[.sss]TZD with TZD 'Z' or (+|-)hh:mm, to
// unix seconds; any fraction is ignored (§3.2 allows that), i.e. the result is rounded toward
// the past. nullopt for anything else: other lengths or separators, a day the month lacks, an
// hour above 23, a minute above 59, a missing or malformed TZD, an offset beyond ±14:00 (the
// XML Schema limit, which §3.2 says overrules), lowercase 't'/'z', trailing text. A second of
// 60 is accepted as a leap second and counts as the first second of the next minute.
std::optional<std::int64_t> parse_datetime(std::string_view s);

}  // namespace starling::xmpp
