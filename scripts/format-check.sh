#!/usr/bin/env bash
# Fails when a C++ file is not clang-formatted (.clang-format: Google base). `--fix` formats.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.h' '*.cc' | sort -u)
[ ${#files[@]} -gt 0 ] || exit 0
existing=()
for f in "${files[@]}"; do [ -f "$f" ] && existing+=("$f"); done
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${existing[@]}"
  exit 0
fi
if ! clang-format --dry-run --Werror "${existing[@]}" 2>/tmp/owsync-format.$$; then
  grep -E '^[^ ].*: (error|warning):' /tmp/owsync-format.$$ | cut -d: -f1 | sort -u |
    sed 's/^/format-check: not clang-formatted: /' >&2
  rm -f /tmp/owsync-format.$$
  echo "format-check: run scripts/format-check.sh --fix" >&2
  exit 1
fi
rm -f /tmp/owsync-format.$$
echo "format-check: ${#existing[@]} files clang-formatted"
