// SchemaInspector: reads the tenant database's schema and decides, per user table, the key it
// is replicated by:
//   1. its PRIMARY KEY (composite keys in key order; an INTEGER PRIMARY KEY rowid alias too);
//   2. else the UNIQUE index (not partial, no expressions) over NOT NULL columns with the
//      fewest columns (the legacy Open WebUI tables: `id ... NOT NULL` + UNIQUE(id));
//   3. else the table is not replicable, with the reason (a UNIQUE index over nullable columns
//      does not identify a row: NULLs are distinct; the rowid is not stable across VACUUM).
// Virtual and shadow tables are not replicable (no triggers possible); views are not tables.
// owsync's and SQLite's own tables are never listed. Run it inside a read transaction so the
// catalog and its schema_version belong together.
#ifndef OWSYNC_CAPTURE_SCHEMA_INSPECTOR_H_
#define OWSYNC_CAPTURE_SCHEMA_INSPECTOR_H_

#include "capture/catalog.h"
#include "capture/sqlite_db.h"
#include "capture/table_filter.h"
#include "util/result.h"

namespace owsync::capture {

class SchemaInspector {
 public:
  static Result<Catalog> Inspect(SqliteDb* db, const TableFilter& filter);
  // One table (which must exist and be an ordinary table).
  static Result<TableInfo> InspectTable(SqliteDb* db, const std::string& name, bool without_rowid);
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_SCHEMA_INSPECTOR_H_
