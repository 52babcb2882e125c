#pragma once
// Logging: spdlog. One logger; never log passwords or SASL payloads.
#include <spdlog/spdlog.h>

namespace starling::log {
using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::trace;
using spdlog::warn;
// Sets the global level from a config string (trace, debug, info, warn, error); false if unknown.
bool set_level(const std::string& level);
}  // namespace starling::log
