#!/usr/bin/env bash
# Builds owsync in release mode (RelWithDebInfo) and runs every benchmark of bench/ (each
# bench/*_bench.cc is one binary), printing each one's table. docs/BENCHMARKS.md holds the
# figures of a full run next to the goals.
#
#   scripts/bench.sh [--quick] [NAME ...]
#     --quick   a fast smoke run: smaller sizes, fewer rounds, a 10 s idle window
#               (OWSYNC_BENCH_QUICK=1 in every benchmark's environment; outbox_append_bench
#               gets --mb 8 --reps 1, google-benchmark ones --benchmark_min_time=0.05)
#     NAME      run only these (e.g. capture_overhead_bench); default: all
#     --ship    only the shipper benchmarks (issue 4): ship_throughput_bench (initial sync vs raw
#               COPY, steady updates vs COPY+upsert by hand), ship_lag_bench (SQLite commit ->
#               PostgreSQL commit at 500 writes/s), ship_rss_bench (peak RSS, 1 GB backlog).
#               They start a private PostgreSQL (LocalPostgres) unless OWSYNC_TEST_PG_URL names
#               one (e.g. under `owsync testenv --`), and run build_dir/owsync as child processes.
#     --verify  only verify_cost_bench (issue 10): shipping throughput with in-stream verification
#               off vs on at its default budget, alternating rounds (about 4 minutes).
#     --failover  only failover_bench (issue 5): two `owsync ship` nodes; time from the leader's
#               SIGKILL (fast path on, and lease only) or SIGSTOP to the new leader's first
#               commit, 20 rounds each with the default 10 s lease (about 10 minutes; --quick:
#               5 rounds, 3 s lease). Same PostgreSQL rules as --ship.
#
# Environment: OWSYNC_BENCH_BUILD_DIR (default build/release), OWSYNC_JOBS (ninja -j, default
# nproc), TMPDIR (where the benchmarks create their databases and outboxes — put it on the disk
# the tenants use: fsync cost is part of what is measured).
# Exit status: non-zero if the build or any benchmark failed.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
names=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --ship) names+=(ship_throughput_bench ship_lag_bench ship_rss_bench) ;;
    --failover) names+=(failover_bench) ;;
    --verify) names+=(verify_cost_bench) ;;
    -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "bench.sh: unknown option $arg" >&2; exit 2 ;;
    *) names+=("$arg") ;;
  esac
done
if [ ${#names[@]} -eq 0 ]; then
  for src in bench/*_bench.cc; do names+=("$(basename "$src" .cc)"); done
fi
for n in "${names[@]}"; do
  [ -f "bench/$n.cc" ] || { echo "bench.sh: no benchmark bench/$n.cc" >&2; exit 2; }
done

build_dir=${OWSYNC_BENCH_BUILD_DIR:-build/release}
jobs=${OWSYNC_JOBS:-$(nproc)}
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DOWSYNC_BUILD_BENCH=ON >/dev/null
fi
echo "=== bench.sh: building ${names[*]} owsync in $build_dir"
ninja -C "$build_dir" -j "$jobs" owsync "${names[@]}"

echo "=== bench.sh: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)," \
  "git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$( [ $quick = 1 ] && echo ', --quick')"
failed=()
for n in "${names[@]}"; do
  echo
  echo "=== $n"
  args=()
  if [ $quick = 1 ]; then
    case "$n" in
      outbox_append_bench) args+=(--mb 8 --reps 1) ;;
      *) if grep -q 'benchmark::\|BENCHMARK' "bench/$n.cc"; then
           args+=(--benchmark_min_time=0.05)
         fi ;;
    esac
  fi
  start=$(date +%s)
  if OWSYNC_BENCH_QUICK=$quick OWSYNC_BINARY="$(cd "$build_dir" && pwd)/owsync" "$build_dir/bench/$n" ${args[@]+"${args[@]}"}; then
    echo "=== $n: done in $(($(date +%s) - start)) s"
  else
    echo "=== $n: FAILED (exit $?)"
    failed+=("$n")
  fi
done
echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "=== bench.sh: failed: ${failed[*]}"
  exit 1
fi
echo "=== bench.sh: all ${#names[@]} benchmarks ran"
