#!/usr/bin/env bash
# The whole test suite, as CI runs it on a clean clone (Debian 12, root):
#   1. install the Debian packages (idempotent), check formatting and layering;
#   2. build RelWithDebInfo (-Werror) and run every test against one private PostgreSQL 15
#      that `owsync testenv` starts for the run and always removes (also on failure or Ctrl-C);
#   3. the same under AddressSanitizer + UBSan;
#   4. the concurrent parts under ThreadSanitizer.
# Long soaks and benchmarks are not part of it: scripts/soak.sh and scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { echo; echo "=== test.sh [$(($(date +%s) - start))s] $*"; }

step "install dependencies"
./scripts/install-deps.sh
step "format and layering"
./scripts/format-check.sh
./tests/layering_test.sh .

run_suite() {  # flavour, extra ctest args...
  local flavour=$1; shift
  step "build $flavour"
  ./scripts/build.sh "$flavour"
  step "test $flavour"
  "build/$flavour/owsync" testenv -- \
    ctest --test-dir "build/$flavour" --output-on-failure --timeout 900 -j "$(nproc)" "$@"
}

run_suite release
run_suite asan

# ThreadSanitizer: only the tests labelled `concurrent` (and the binary they drive) are built.
step "build tsan (tests labelled concurrent)"
./scripts/build.sh tsan build.ninja >/dev/null
mapfile -t tsan_targets < <(ctest --test-dir build/tsan -N -L concurrent |
  sed -nE 's/^ *Test +#[0-9]+: +([A-Za-z0-9_]+).*/\1/p')
if [ ${#tsan_targets[@]} -eq 0 ]; then
  echo "test.sh: no test is labelled concurrent" >&2
  exit 1
fi
./scripts/build.sh tsan owsync "${tsan_targets[@]}"
step "test tsan"
build/tsan/owsync testenv -- \
  ctest --test-dir build/tsan --output-on-failure --timeout 900 -j "$(nproc)" -L concurrent
step "all suites passed"
