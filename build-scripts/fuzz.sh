#!/usr/bin/env bash
# Fuzzes the parsers of untrusted input (vendor answers, RTMP URLs, OBS settings) with
# cargo-fuzz (libFuzzer), on the stable toolchain.
#
#   build-scripts/fuzz.sh smoke            each target 20 s on a copy of its corpus, two at a
#                                          time (CI)
#   build-scripts/fuzz.sh long [SECONDS]   each target SECONDS (default 600), two at a time at
#                                          nice 19, growing fuzz/corpus/<target>
#   build-scripts/fuzz.sh cmin             minimizes every fuzz/corpus/<target> to one input per
#                                          covered edge (before committing it)
#
# A crash fails the run; libFuzzer leaves the input in fuzz/artifacts/<target>/ and
# `cargo fuzz run <target> <file>` (with the environment below) replays it. Logs go to
# $FUZZ_LOG_DIR (default: a temporary directory), one per target, and a summary is printed.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

TARGETS=(rtmp_url_split zego_response aliyun_response settings)
# cargo-fuzz passes nightly-only flags (-Z, sancov passes); RUSTC_BOOTSTRAP lets stable take them.
export RUSTC_BOOTSTRAP=1
# The code under test is safe Rust: a sanitizer would only slow it down. Debug assertions keep
# overflow checks on, so arithmetic overflow is a crash too.
BUILD_FLAGS=(--sanitizer none --debug-assertions)
# An input that takes more than 10 s is a hang and fails the run like a crash.
FUZZ_FLAGS=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo-fuzz" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  cargo install cargo-fuzz --version "^0.13" --locked
fi

LOG_DIR="${FUZZ_LOG_DIR:-$(mktemp -d -t golive-fuzz.XXXXXX)}"
mkdir -p "$LOG_DIR"

# run TARGET SECONDS CORPUS_DIR...: fuzzes, logging to $LOG_DIR/TARGET.log; the first corpus
# directory receives the new inputs.
run() {
  local target=$1 seconds=$2
  shift 2
  nice -n 19 cargo fuzz run "${BUILD_FLAGS[@]}" "$target" "$@" -- \
    "${FUZZ_FLAGS[@]}" -max_total_time="$seconds" >"$LOG_DIR/$target.log" 2>&1
}

# One line per target from its log: executions, speed, coverage, corpus, crashes.
summary() {
  local target=$1 status=$2 log="$LOG_DIR/$1.log" execs rate secs cov corpus
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
  corpus=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1)
  printf '%-16s %-6s %5ss %12s execs %8s/s  %-22s %-18s crashes: %s\n' \
    "$target" "$status" "${secs:-?}" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${corpus:-?}" \
    "$(find "artifacts/$target" -type f 2>/dev/null | wc -l)"
}

mode=${1:-smoke}
case "$mode" in
  smoke | long)
    seconds=20
    [ "$mode" = long ] && seconds=${2:-600}
    echo "==> cargo fuzz build (${#TARGETS[@]} targets)"
    nice -n 19 cargo fuzz build "${BUILD_FLAGS[@]}" >"$LOG_DIR/build.log" 2>&1 ||
      { tail -30 "$LOG_DIR/build.log"; exit 1; }
    declare -A status
    corpus_of() { echo "corpus/$1"; }
    if [ "$mode" = smoke ]; then
      # A copy, so a smoke run never changes the committed corpus: new inputs go to the scratch
      # directory, the committed ones are read from the second.
      scratch=$(mktemp -d -t golive-fuzz-corpus.XXXXXX)
      trap 'rm -rf "$scratch"' EXIT
      corpus_of() { mkdir -p "$scratch/$1" && echo "$scratch/$1 corpus/$1"; }
    fi
    # Two at a time: this machine has two cores.
    for ((i = 0; i < ${#TARGETS[@]}; i += 2)); do
      pids=()
      for target in "${TARGETS[@]:i:2}"; do
        echo "==> fuzz $target (${seconds} s), log $LOG_DIR/$target.log"
        # shellcheck disable=SC2046 # one or two corpus directories, never with spaces
        run "$target" "$seconds" $(corpus_of "$target") &
        pids+=("$!:$target")
      done
      for entry in "${pids[@]}"; do
        if wait "${entry%%:*}"; then status[${entry#*:}]=ok; else status[${entry#*:}]=FAILED; fi
      done
    done
    echo "==> fuzz summary (logs in $LOG_DIR)"
    failed=0
    for target in "${TARGETS[@]}"; do
      summary "$target" "${status[$target]}"
      if [ "${status[$target]}" != ok ]; then
        failed=1
        grep -m1 -A12 -E "panicked|ERROR: libFuzzer|==ERROR" "$LOG_DIR/$target.log" || true
      fi
    done
    exit "$failed"
    ;;
  cmin)
    for target in "${TARGETS[@]}"; do
      before=$(find "corpus/$target" -type f | wc -l)
      # Edges only (no hit counts): one input per covered branch keeps the committed corpus
      # small; the counts come back within seconds of fuzzing.
      nice -n 19 cargo fuzz cmin "${BUILD_FLAGS[@]}" "$target" -- -use_counters=0 \
        >"$LOG_DIR/cmin-$target.log" 2>&1 ||
        { tail -20 "$LOG_DIR/cmin-$target.log"; exit 1; }
      echo "$target: $before -> $(find "corpus/$target" -type f | wc -l) inputs"
    done
    ;;
  *)
    echo "usage: $0 smoke | long [SECONDS] | cmin" >&2
    exit 2
    ;;
esac
