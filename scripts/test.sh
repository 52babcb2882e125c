#!/bin/sh
# Builds and runs every test: unit tests (GoogleTest) and end-to-end tests (pytest with slixmpp,
# aioxmpp and raw sockets against the real binary), all under CTest in an AddressSanitizer +
# UndefinedBehaviorSanitizer build with -Werror; then short libFuzzer runs of the parsers.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

JOBS="${JOBS:-$(nproc)}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSTARLING_SANITIZE=ON -DSTARLING_WERROR=ON >/dev/null
ninja -C build-asan -j "$JOBS"
ctest --test-dir build-asan --output-on-failure -j "$JOBS"

# The release build that scripts/run.sh uses, with -Werror too: without sanitizers GCC's
# optimizer reports other warnings. The micro-benchmarks are built (so they keep compiling) but
# not run: they are measurements, not tests (docs/performance.md).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTARLING_TESTS=OFF \
  -DSTARLING_WERROR=ON >/dev/null
ninja -C build -j "$JOBS" starling starlingctl starling-bench starling-microbench

CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSTARLING_FUZZ=ON -DSTARLING_TESTS=OFF -DSTARLING_WERROR=ON >/dev/null
ninja -C build-fuzz -j "$JOBS"
ctest --test-dir build-fuzz --output-on-failure -j "$JOBS"
