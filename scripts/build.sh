#!/usr/bin/env bash
# Configures and builds one flavour of owsync into build/<flavour>:
#   release  RelWithDebInfo, everything incl. benchmarks (the default)
#   asan     Debug + AddressSanitizer + UndefinedBehaviorSanitizer (no benchmarks)
#   tsan     Debug + ThreadSanitizer (no benchmarks)
# Extra arguments are passed to ninja (e.g. a target name).
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
shift || true
jobs=${OWSYNC_JOBS:-$(nproc)}
case "$flavour" in
  release) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) args=(-DCMAKE_BUILD_TYPE=Debug -DOWSYNC_SANITIZE=address -DOWSYNC_BUILD_BENCH=OFF) ;;
  tsan) args=(-DCMAKE_BUILD_TYPE=Debug -DOWSYNC_SANITIZE=thread -DOWSYNC_BUILD_BENCH=OFF) ;;
  *) echo "build.sh: unknown flavour '$flavour' (release|asan|tsan)" >&2; exit 2 ;;
esac
if [ ! -f "build/$flavour/build.ninja" ]; then
  cmake -S . -B "build/$flavour" -G Ninja "${args[@]}" >/dev/null
fi
ninja -C "build/$flavour" -j "$jobs" "$@"
