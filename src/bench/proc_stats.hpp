#pragma once
// CPU time and resident memory of a process, from /proc (Linux).
#include <optional>
#include <string_view>

namespace starling::bench {

struct ProcSample {
  double cpu_s = 0;  // utime + stime, seconds
  long rss_kib = 0;  // VmRSS
};

// nullopt when the process does not exist or /proc cannot be read.
std::optional<ProcSample> sample_process(long pid);
// Parsers, for tests: the content of /proc/PID/stat and /proc/PID/status.
std::optional<double> parse_stat_cpu(std::string_view stat, long ticks_per_second);
std::optional<long> parse_status_rss(std::string_view status);
// CPU seconds (user + system) used by this process so far.
double self_cpu_seconds();

}  // namespace starling::bench
