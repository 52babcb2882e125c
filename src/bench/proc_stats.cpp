#include "bench/proc_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace starling::bench {
namespace {

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::optional<double> parse_stat_cpu(std::string_view stat, long ticks_per_second) {
  // proc(5): "pid (comm) state ppid ..."; comm may hold spaces and ')', so fields are counted
  // after the last ')'. utime and stime are fields 14 and 15; after ')' comes field 3.
  const auto close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) {
    return std::nullopt;
  }
  std::string_view rest = stat.substr(close + 1);
  unsigned long long values[2] = {0, 0};
  int field = 2;
  std::size_t pos = 0;
  while (field < 15) {
    while (pos < rest.size() && rest[pos] == ' ') {
      ++pos;
    }
    if (pos >= rest.size()) {
      return std::nullopt;
    }
    std::size_t end = rest.find(' ', pos);
    if (end == std::string_view::npos) {
      end = rest.size();
    }
    ++field;
    if (field == 14 || field == 15) {
      auto [p, ec] = std::from_chars(rest.data() + pos, rest.data() + end, values[field - 14]);
      if (ec != std::errc()) {
        return std::nullopt;
      }
    }
    pos = end;
  }
  return static_cast<double>(values[0] + values[1]) / static_cast<double>(ticks_per_second);
}

std::optional<long> parse_status_rss(std::string_view status) {
  const auto at = status.find("\nVmRSS:");
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view rest = status.substr(at + 7);
  std::size_t pos = rest.find_first_not_of(" \t");
  if (pos == std::string_view::npos) {
    return std::nullopt;
  }
  long kib = 0;
  auto [p, ec] = std::from_chars(rest.data() + pos, rest.data() + rest.size(), kib);
  if (ec != std::errc()) {
    return std::nullopt;
  }
  return kib;
}

std::optional<ProcSample> sample_process(long pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  auto stat = slurp(base + "/stat");
  auto status = slurp(base + "/status");
  if (!stat || !status) {
    return std::nullopt;
  }
  auto cpu = parse_stat_cpu(*stat, sysconf(_SC_CLK_TCK));
  auto rss = parse_status_rss(*status);
  if (!cpu || !rss) {
    return std::nullopt;
  }
  return ProcSample{*cpu, *rss};
}

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

}  // namespace starling::bench
