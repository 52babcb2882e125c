#pragma once
// Helpers shared by the micro-benchmarks.
#include <benchmark/benchmark.h>

#include <string_view>

#include "xml/element.hpp"

namespace starling::microbench {

// The element a c2s stream's parser yields for `stanza` (namespace jabber:client, as on a
// client stream). Aborts when it does not parse: a benchmark of a broken input is worthless.
xml::Element parse_stanza(std::string_view stanza);

// Applied to every benchmark: when STARLING_MICROBENCH_ITERATIONS is set, runs exactly that many
// iterations instead of timing until --benchmark_min_time. For profiling under callgrind, whose
// instruction counts are then comparable between runs (two runs with N and 2N iterations give
// the exact cost of one iteration, without the setup).
void fixed_iterations(benchmark::internal::Benchmark* b);

}  // namespace starling::microbench
