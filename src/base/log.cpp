#include "base/log.hpp"

namespace starling::log {
bool set_level(const std::string& level) {
  auto l = spdlog::level::from_str(level);
  if (l == spdlog::level::off && level != "off") {
    return false;
  }
  spdlog::set_level(l);
  return true;
}
}  // namespace starling::log
