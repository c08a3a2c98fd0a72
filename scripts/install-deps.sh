#!/usr/bin/env bash
# Installs every Debian 12 package owsync needs to build, test, benchmark and run its demo.
# Idempotent: apt-get install only; packages already present are left as they are.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang-format
  libsqlite3-dev sqlite3 libpq-dev libsimdjson-dev libzstd-dev libconcurrentqueue-dev
  prometheus-cpp-dev libgtest-dev libgmock-dev googletest libbenchmark-dev
  libcli11-dev libspdlog-dev libfmt-dev libcpp-httplib-dev libxxhash-dev nlohmann-json3-dev
  postgresql-15 postgresql-client-15 pgbouncer
  procps util-linux
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (apt-get install)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The Debian postgresql package may start a cluster of its own; owsync never uses it.
echo "install-deps: done"
