#!/usr/bin/env bash
# Enforces DESIGN.md's dependency direction on #include lines:
#   capture -> outbox <- shipper -> resolver, all on util; outbox never sees sqlite3 or libpq;
#   canonical (value forms both sides compute) serves capture and shipper, on outbox and util.
set -u
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
fail=0
check() {  # folder, allowed owsync folders (regex), forbidden system headers (regex or "")
  local folder=$1 allowed=$2 forbidden=$3
  [ -d "$folder" ] || return 0
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include[[:space:]]*[<"]([^>"]+)[>"].*/\1/' <<<"$line")
    top=${inc%%/*}
    # A *_pg_test.cc beside the code gets its PostgreSQL from the test harness.
    if [[ ( "$file" == *_pg_test.cc || "$file" == *_test_fixture.h ) && "$inc" == tests/pg_test_env.h ]]; then
      continue
    fi
    case "$top" in
      util|outbox|canonical|capture|shipper|resolver|cli|tests|bench)
        if ! [[ "$top" =~ ^($allowed)$ ]]; then
          echo "layering: $file includes $inc, but $folder/ may only use: $allowed" >&2
          fail=1
        fi ;;
    esac
    if [ -n "$forbidden" ] && [[ "$inc" =~ $forbidden ]]; then
      echo "layering: $file includes $inc, which $folder/ must never use" >&2
      fail=1
    fi
  done < <(grep -HE '^[[:space:]]*#include' "$folder"/*.h "$folder"/*.cc 2>/dev/null)
}
check util     'util'                          'sqlite3\.h|libpq-fe\.h|zstd\.h'
check outbox   'outbox|util'                   'sqlite3\.h|libpq-fe\.h'
check canonical 'canonical|outbox|util'       'sqlite3\.h|libpq-fe\.h'
check resolver 'resolver|util'                 'sqlite3\.h|libpq-fe\.h'
check capture  'capture|canonical|outbox|util' 'libpq-fe\.h'
check shipper  'shipper|canonical|outbox|resolver|util'  'sqlite3\.h'
[ $fail -eq 0 ] && echo "layering: all includes follow capture -> outbox <- shipper -> resolver (canonical beside outbox), all on util"
exit $fail
