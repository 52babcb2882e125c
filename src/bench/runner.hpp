#pragma once
// Runs one scenario of starling-bench and prints its result as one JSON line on stdout (progress
// goes to stderr). Client connections are spread over --threads io_contexts (net::Shards); each
// account, its session and its statistics belong to one thread, merged once at the end.
#include <iosfwd>

#include "bench/options.hpp"

namespace starling::bench {

// Returns the process exit code (kExitOk or kExitFailed).
int run(const Options& opt, std::ostream& out, std::ostream& progress);

}  // namespace starling::bench
