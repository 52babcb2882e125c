#!/bin/sh
# Instructions per iteration of one micro-benchmark under callgrind, which counts instructions
# exactly, so the figure does not depend on the machine's load. The benchmark runs twice, with
# N and 2N fixed iterations (STARLING_MICROBENCH_ITERATIONS); the difference of the two totals
# divided by N is the cost of one iteration without start-up and set-up. The profile of the 2N
# run stays in OUT_DIR for callgrind_annotate.
#
#   bench/micro/callgrind.sh build-rel BM_ParseMessage/0 2000 [OUT_DIR]
#
# NAME is the benchmark's full name as --benchmark_list_tests prints it.
set -eu
BUILD="$1"
BENCH="$2"
N="$3"
OUT="${4:-$BUILD/callgrind}"
BIN="$BUILD/bench/micro/starling-microbench"
mkdir -p "$OUT"
NAME=$(printf '%s' "$BENCH" | tr -c 'A-Za-z0-9_' '_')
# With fixed iterations the benchmark's name gains "/iterations:N".
FILTER="^$BENCH/iterations:"

total() {
  STARLING_MICROBENCH_ITERATIONS="$1" valgrind --tool=callgrind --callgrind-out-file="$2" \
    "$BIN" --benchmark_filter="$FILTER" >"$2.log" 2>&1
  if ! grep -q '^BM_' "$2.log"; then
    echo "no benchmark ran; see $2.log" >&2
    exit 1
  fi
  rm -f "$2.log"
  sed -n 's/^summary: \([0-9]*\).*/\1/p' "$2"
}
ONE=$(total "$N" "$OUT/$NAME.n.out")
TWO=$(total "$((2 * N))" "$OUT/$NAME.out")
rm -f "$OUT/$NAME.n.out"
echo "$BENCH: $(((TWO - ONE) / N)) instructions per iteration ($OUT/$NAME.out)"
