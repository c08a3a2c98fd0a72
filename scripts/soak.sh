#!/usr/bin/env bash
# The long, on-demand runs of the capture chaos tests (not part of scripts/test.sh):
#   - capture_crash_test with many SIGKILLs per scenario (both fixtures x both journal modes),
#   - capture_power_loss_test with many dropped-unsynced-data crashes per scenario,
#   - ship_crash_pg_test (--kills N) and failover_pg_test (--rounds 20),
#   - the migration, restore and disk-fault tests repeated with the same binaries.
# Usage: scripts/soak.sh [--kills N] [--seed S] [--repeat R] [--flavour release|asan]
#   defaults: --kills 50 --seed <seconds since epoch> --repeat 3 --flavour release
# Every run prints its seed; rerun a failure with the same --seed. A failed scenario keeps its
# directory (the path is in the failure message). Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
kills=50
seed=$(date +%s)
repeat=3
flavour=release
while [ $# -gt 0 ]; do
  case "$1" in
    --kills) kills=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --flavour) flavour=$2; shift 2 ;;
    *) echo "soak.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
start=$(date +%s)
step() { echo; echo "=== soak.sh [$(($(date +%s) - start))s] $*"; }

targets=(owsync capture_crash_test capture_power_loss_test capture_migration_test
         capture_restore_test capture_disk_full_test ship_crash_pg_test failover_pg_test)
step "build $flavour: ${targets[*]}"
./scripts/build.sh "$flavour" "${targets[@]}"
bin=build/$flavour

step "capture_crash_test --kills $kills --seed $seed"
"$bin/tests/capture_crash_test" --kills "$kills" --seed "$seed"
step "capture_power_loss_test --kills $kills --seed $seed"
"$bin/tests/capture_power_loss_test" --kills "$kills" --seed "$seed"
step "ship_crash_pg_test --kills $kills --pg-restarts 5 --seed $seed (its own PostgreSQL)"
"$bin/tests/ship_crash_pg_test" --kills "$kills" --pg-restarts 5 --seed "$seed"
step "failover_pg_test --rounds 20 --seed $seed (its own PostgreSQL)"
"$bin/tests/failover_pg_test" --rounds 20 --seed "$seed"
for i in $(seq 1 "$repeat"); do
  step "round $i/$repeat: migration, restore, disk faults"
  "$bin/tests/capture_migration_test"
  "$bin/tests/capture_restore_test"
  "$bin/tests/capture_disk_full_test"
done
step "soak passed (kills $kills, seed $seed, repeat $repeat)"
