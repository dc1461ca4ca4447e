# What build-scripts/bench.sh and build-scripts/bench-networks.sh share; sourced by them, not
# run: the build and run of one benchmark program, and the report written around its results.
# shellcheck shell=bash

# bench_run EXAMPLE: builds the plugin (release), then runs examples/EXAMPLE.rs of the
# test-support crate; its markdown report is left in the file "$results" (removed on exit), and
# "$tree" says what was built and "$load" the machine's load average when it began.
bench_run() {
  # What is built: HEAD, and whether the plugin's sources differ from it.
  tree="commit $(git rev-parse --short HEAD)"
  git diff --quiet HEAD -- src crates/core data Cargo.toml Cargo.lock ||
    tree="$tree with uncommitted changes"

  # Other work on the machine skews the times: the report says how busy it was.
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "==> building the plugin (release), then the benchmark, and running it"
  cargo build --release --lib
  results=$(mktemp)
  trap 'rm -f "$results"' EXIT
  # The report goes to stdout, progress to stderr.
  cargo run --release -p rtc-golive-test-support --example "$1" >"$results"
}

# bench_write REPORT OBS_VERSION COMMAND TITLE INTRO_LINE...: writes the report (a header with
# the date, machine, OBS, build and command, then the results of bench_run) to the file
# REPORT, and prints it.
bench_write() {
  local report=$1 obs_version=$2 command=$3 title=$4
  shift 4
  local cpu
  cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^[[:space:]]*//')
  {
    echo "# $title"
    echo
    printf '%s\n' "$@"
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- Machine: $(nproc) cores, ${cpu:-unknown CPU}, $(uname -sr)"
    echo "- Load average (1, 5, 15 min) when the run began: $load"
    echo "- OBS: $obs_version"
    echo "- Build: release (\`cargo build --release --lib\`, LTO), $tree"
    echo "- Command: \`$command\`"
    echo
    cat "$results"
  } >"$report"
  echo
  cat "$report"
}
