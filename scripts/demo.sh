#!/usr/bin/env bash
# Installs what owsync needs, builds it, and runs `owsync demo` (about a minute): a private
# PostgreSQL, a sample Open WebUI database, capture and ship running while an application writes,
# then verify and a summary. Arguments go to the demo: --seconds N, --keep, ... (see
# `owsync demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh release owsync
exec build/release/owsync demo "$@"
