#pragma once
#include <string>

namespace starling::modules::time_ns {

// XEP-0082 §3.1 TZD for an offset east of UTC in seconds: "+02:00", "-06:00", "+00:00"
// (XEP-0202 §3 <tzo/>). Seconds within the minute are dropped.
std::string tzo(long offset_seconds);

}  // namespace starling::modules::time_ns
