#pragma once
// XEP-0203 Delayed Delivery stamps with XEP-0082 date-times.
#include <chrono>
#include <string>

#include "xml/element.hpp"

namespace starling::modules::offline {

inline constexpr std::string_view kDelayNs = "urn:xmpp:delay";

// <delay xmlns='urn:xmpp:delay' from='…' stamp='…'>reason</delay>, the stamp a XEP-0082 §3.2
// DateTime in UTC with milliseconds: "2026-11-21T06:20:00.123Z".
xml::Element make_delay(std::string_view from, std::chrono::system_clock::time_point t,
                        std::string_view reason);

}  // namespace starling::modules::offline
