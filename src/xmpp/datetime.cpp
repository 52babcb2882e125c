#include "xmpp/datetime.hpp"

#include <cstdlib>

namespace starling::xmpp {
namespace {

constexpr std::int64_t kSecondsPerDay = 86400;

// Division and remainder rounding toward negative infinity, for times before 1970.
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}
constexpr std::int64_t floor_mod(std::int64_t a, std::int64_t b) {
  std::int64_t r = a % b;
  return (r != 0 && (r < 0) != (b < 0)) ? r + b : r;
}

// Days since 1970-01-01 of a proleptic Gregorian date, counting years from March so that the
// leap day falls at the end of the counted year; 400-year eras repeat exactly (146097 days).
constexpr std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = floor_div(y, 400);
  const std::int64_t year_of_era = y - era * 400;                                    // [0, 399]
  const std::int64_t day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const std::int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;  // [0, 146096]
  return era * 146097 + day_of_era - 719468;  // 719468: 0000-03-01 to 1970-01-01
}

struct Civil {
  std::int64_t year;
  int month;
  int day;
};

// The inverse of days_from_civil.
constexpr Civil civil_from_days(std::int64_t days) {
  days += 719468;
  const std::int64_t era = floor_div(days, 146097);
  const std::int64_t day_of_era = days - era * 146097;  // [0, 146096]
  const std::int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const std::int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);  // [0, 365]
  const std::int64_t month_from_march = (5 * day_of_year + 2) / 153;           // [0, 11]
  const int day = static_cast<int>(day_of_year - (153 * month_from_march + 2) / 5 + 1);
  const int month =
      static_cast<int>(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
  return {year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 3, 1) == 11017);
static_assert(civil_from_days(-1).year == 1969 && civil_from_days(-1).day == 31);

constexpr bool leap_year(std::int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

constexpr int days_in_month(std::int64_t y, int m) {
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap_year(y) ? 29 : kDays[m - 1];
}

// Appends v (non-negative) with at least `width` digits.
void append_padded(std::string& out, std::uint64_t v, std::size_t width) {
  char digits[20];
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (; n < width; --width) {
    out.push_back('0');
  }
  while (n > 0) {
    out.push_back(digits[--n]);
  }
}

// "CCYY-MM-DDThh:mm:ss", without fraction or TZD.
std::string format_seconds(std::int64_t unix_seconds) {
  const std::int64_t day = floor_div(unix_seconds, kSecondsPerDay);
  const std::int64_t second_of_day = floor_mod(unix_seconds, kSecondsPerDay);
  const Civil c = civil_from_days(day);
  std::string out;
  out.reserve(32);
  if (c.year < 0) {
    out.push_back('-');  // XML Schema's negative years; magnitude fits as |year| < 2^63 / 86400
  }
  append_padded(out, static_cast<std::uint64_t>(c.year < 0 ? -c.year : c.year), 4);
  out.push_back('-');
  append_padded(out, static_cast<std::uint64_t>(c.month), 2);
  out.push_back('-');
  append_padded(out, static_cast<std::uint64_t>(c.day), 2);
  out.push_back('T');
  append_padded(out, static_cast<std::uint64_t>(second_of_day / 3600), 2);
  out.push_back(':');
  append_padded(out, static_cast<std::uint64_t>(second_of_day / 60 % 60), 2);
  out.push_back(':');
  append_padded(out, static_cast<std::uint64_t>(second_of_day % 60), 2);
  return out;
}

// Exactly n ASCII digits at s[pos], or nullopt.
std::optional<int> digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) {
    return std::nullopt;
  }
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return std::nullopt;
    }
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::string format_datetime(std::int64_t unix_seconds) {
  std::string out = format_seconds(unix_seconds);
  out.push_back('Z');
  return out;
}

std::string format_datetime_ms(std::int64_t unix_millis) {
  std::string out = format_seconds(floor_div(unix_millis, 1000));
  out.push_back('.');
  append_padded(out, static_cast<std::uint64_t>(floor_mod(unix_millis, 1000)), 3);
  out.push_back('Z');
  return out;
}

std::string format_tzd(long offset_seconds) {
  const long minutes = std::labs(offset_seconds) / 60;
  std::string out(1, offset_seconds < 0 ? '-' : '+');
  append_padded(out, static_cast<std::uint64_t>(minutes / 60 % 100), 2);
  out.push_back(':');
  append_padded(out, static_cast<std::uint64_t>(minutes % 60), 2);
  return out;
}

std::optional<std::int64_t> parse_datetime(std::string_view s) {
  // CCYY-MM-DDThh:mm:ss is fixed width: 19 characters.
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  const auto year = digits(s, 0, 4), month = digits(s, 5, 2), day = digits(s, 8, 2),
             hour = digits(s, 11, 2), minute = digits(s, 14, 2), second = digits(s, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || *month < 1 || *month > 12 ||
      *day < 1 || *day > days_in_month(*year, *month) || *hour > 23 || *minute > 59 ||
      *second > 60) {
    return std::nullopt;
  }
  std::size_t i = 19;
  if (s[i] == '.') {  // §3.2: "[.sss]", any number of digits, at least one
    const std::size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      ++i;
    }
    if (i == start) {
      return std::nullopt;
    }
  }
  std::int64_t offset = 0;  // seconds east of UTC
  const std::string_view tzd = s.substr(i);
  if (tzd == "Z") {
    offset = 0;
  } else if (tzd.size() == 6 && (tzd[0] == '+' || tzd[0] == '-') && tzd[3] == ':') {
    const auto oh = digits(tzd, 1, 2), om = digits(tzd, 4, 2);
    // XML Schema timezoneFrag: -14:00 to +14:00.
    if (!oh || !om || *om > 59 || *oh * 60 + *om > 14 * 60) {
      return std::nullopt;
    }
    offset = (tzd[0] == '-' ? -60 : 60) * static_cast<std::int64_t>(*oh * 60 + *om);
  } else {
    return std::nullopt;
  }
  return days_from_civil(*year, *month, *day) * kSecondsPerDay + *hour * 3600 + *minute * 60 +
         *second - offset;
}

}  // namespace starling::xmpp
