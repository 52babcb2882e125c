#include "modules/xep0202_time/tzo.hpp"

#include <cstdio>
#include <cstdlib>

namespace starling::modules::time_ns {

std::string tzo(long offset_seconds) {
  long minutes = std::labs(offset_seconds) / 60;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%c%02ld:%02ld", offset_seconds < 0 ? '-' : '+',
                (minutes / 60) % 100, minutes % 60);
  return buf;
}

}  // namespace starling::modules::time_ns
