// SqliteDb: a move-only owner of one SQLite connection (sqlite3*), closed on destruction.
// Opened with a busy timeout (waits for locks, then Busy), extended result codes, and never
// creates a database that does not exist (a wrong path must not produce an empty webui.db).
// Does not change the journal mode: the application owns it (DELETE or WAL both work).
// Used by one thread at a time.
#ifndef OWSYNC_CAPTURE_SQLITE_DB_H_
#define OWSYNC_CAPTURE_SQLITE_DB_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "capture/sqlite_stmt.h"
#include "util/result.h"
#include "util/status.h"

struct sqlite3;

namespace owsync::capture {

struct SqliteDbOptions {
  bool read_only = false;
  bool create = false;  // tests create databases; capture never does
  int busy_timeout_ms = 5000;
};

class SqliteDb {
 public:
  SqliteDb() = default;
  ~SqliteDb();
  SqliteDb(SqliteDb&& other) noexcept;
  SqliteDb& operator=(SqliteDb&& other) noexcept;
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // NotFound when the file does not exist (and options.create is false).
  static Result<SqliteDb> Open(const std::string& path, const SqliteDbOptions& options);

  // Runs one or more statements that return no rows that matter.
  [[nodiscard]] Status Exec(std::string_view sql);
  Result<SqliteStmt> Prepare(std::string_view sql);
  // First column of the first row of `sql` as an integer (0 when there is no row).
  Result<int64_t> QueryInt64(std::string_view sql);
  [[nodiscard]] Status SetBusyTimeout(int ms);

  // PRAGMA data_version: changes whenever another connection committed to the database.
  Result<int64_t> DataVersion();
  // PRAGMA schema_version: changes whenever the schema changes (any connection).
  Result<int64_t> SchemaVersion();
  // True when the file this connection has open was renamed, deleted or replaced by another
  // file at the same path (a restored backup copied over with mv): reopen to see the new one.
  Result<bool> HasMoved();
  bool InTransaction() const;

  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }
  int busy_timeout_ms() const { return busy_timeout_ms_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  int busy_timeout_ms_ = 0;
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_SQLITE_DB_H_
