// ExtraColumnMover: after `provision --migrate` added a column to a tenant table, moves that
// column's values out of `_owsync_extra` (where the shipper kept them while PostgreSQL lacked
// the column) into the column, in SQL, inside the caller's transaction. The encoding read is
// the one the shipper writes (notes/shipper-spec.md): integer/real -> JSON number or the
// strings "NaN", "Infinity", "-Infinity"; text -> JSON string; blob -> "\\x<hex>"; NULL ->
// null. A value that does not fit the column's type (a real in a bigint column, 2 in a
// boolean one, text that is not JSON in a jsonb one, ...) is checked before any cast, so it
// never raises: it stays in `_owsync_extra` and is counted. Rows keep their _owsync_offset;
// the caller sets `owsync.applying = on` so the dirty trigger leaves them alone.
#ifndef OWSYNC_SHIPPER_EXTRA_COLUMN_MOVER_H_
#define OWSYNC_SHIPPER_EXTRA_COLUMN_MOVER_H_

#include <cstdint>
#include <string>

#include "shipper/deadline.h"
#include "shipper/pg_connection.h"
#include "shipper/pg_type.h"
#include "util/result.h"

namespace owsync::shipper {

struct ExtraMoveResult {
  int64_t moved = 0;  // rows whose value went into the column (JSON null included)
  int64_t left = 0;   // rows whose value does not fit and stays in _owsync_extra
};

class ExtraColumnMover {
 public:
  // Moves `column` (its name as a key of _owsync_extra) of `qualified_table` (quoted
  // "schema"."table"; the column quoted as `quoted_column`) of type `type`. Runs inside the
  // caller's open transaction; a jsonb column needs a helper function, created in the
  // session's temporary schema on first use.
  static Result<ExtraMoveResult> Move(PgConnection* conn, const std::string& qualified_table,
                                      const std::string& column, const std::string& quoted_column,
                                      PgType type, Deadline deadline);
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_EXTRA_COLUMN_MOVER_H_
