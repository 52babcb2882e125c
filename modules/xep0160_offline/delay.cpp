#include "modules/xep0160_offline/delay.hpp"

#include <cstdio>
#include <ctime>

namespace starling::modules::offline {

std::string xep0082_datetime(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::floor<std::chrono::seconds>(t);  // not truncation: pre-1970 too
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - secs).count();
  std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];  // ample for any int values, so snprintf never truncates
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

xml::Element make_delay(std::string_view from, std::chrono::system_clock::time_point t,
                        std::string_view reason) {
  xml::Element d("delay", std::string(kDelayNs));
  d.set_attr("from", std::string(from));
  d.set_attr("stamp", xep0082_datetime(t));
  if (!reason.empty()) {
    d.add_text(std::string(reason));
  }
  return d;
}

}  // namespace starling::modules::offline
