#!/usr/bin/env bash
# Installs what owsync needs, builds it, and runs `owsync demo`: a private PostgreSQL, the
# sync_metadata schema, a sample Open WebUI database (see `owsync demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh release owsync
exec build/release/owsync demo "$@"
