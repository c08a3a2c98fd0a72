// SqliteHandle: move-only owners of a sqlite3 connection and a prepared statement, for the
// CLI's own SQLite users (the workload generator) and the test-support library. Closing a
// connection finalizes nothing for you: destroy statements before their connection.
#ifndef OWSYNC_CLI_SQLITE_HANDLE_H_
#define OWSYNC_CLI_SQLITE_HANDLE_H_

#include <sqlite3.h>

#include <memory>
#include <string>

#include "outbox/value.h"
#include "util/result.h"
#include "util/status.h"

namespace owsync::cli {

struct SqliteDbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct SqliteStmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using SqliteDb = std::unique_ptr<sqlite3, SqliteDbCloser>;
using SqliteStmt = std::unique_ptr<sqlite3_stmt, SqliteStmtFinalizer>;

// Status for a failed SQLite call: Busy for SQLITE_BUSY/LOCKED (retryable), else IOError or
// Internal, with `what` and sqlite3_errmsg(db) in the message.
Status SqliteStatus(sqlite3* db, int rc, const std::string& what);

// Opens (creating when `create`) the database at `path` with busy_timeout_ms set.
Result<SqliteDb> OpenSqlite(const std::string& path, bool create, int busy_timeout_ms);

// Prepares `sql` on `db`.
Result<SqliteStmt> PrepareSqlite(sqlite3* db, const std::string& sql);

// Runs `sql` (any number of statements, no results wanted).
Status ExecSqlite(sqlite3* db, const std::string& sql);

// The first column of the first row of `sql` as an integer (0 when there is no row).
Result<int64_t> QueryInt(sqlite3* db, const std::string& sql);

// Binds `value` exactly (text and blobs by length, so NUL bytes and invalid UTF-8 survive) to
// parameter `index` (1-based). SQLite itself turns a NaN real into NULL.
Status BindValue(sqlite3_stmt* stmt, int index, const outbox::Value& value);

// Column `index` (0-based) of the current row, exactly as stored.
outbox::Value ColumnValue(sqlite3_stmt* stmt, int index);

// "name" with embedded quotes doubled: a safe SQL identifier.
std::string QuoteIdentifier(const std::string& name);

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_SQLITE_HANDLE_H_
