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
run_suite tsan -L concurrent
step "all suites passed"
