// SqliteStmt: a move-only owner of one prepared statement (sqlite3_stmt*), finalized on
// destruction. Binds and reads owsync values exactly (integers, doubles by bit pattern, text
// and blobs with NUL bytes and invalid UTF-8 kept as they are). Parameter and column indexes
// follow SQLite: parameters from 1, result columns from 0. Used by one thread at a time.
#ifndef OWSYNC_CAPTURE_SQLITE_STMT_H_
#define OWSYNC_CAPTURE_SQLITE_STMT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "outbox/value.h"
#include "util/result.h"
#include "util/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace owsync::capture {

class SqliteStmt {
 public:
  SqliteStmt() = default;
  SqliteStmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~SqliteStmt();
  SqliteStmt(SqliteStmt&& other) noexcept;
  SqliteStmt& operator=(SqliteStmt&& other) noexcept;
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;

  [[nodiscard]] Status Bind(int index, const outbox::Value& value);
  [[nodiscard]] Status BindInt64(int index, int64_t value);
  [[nodiscard]] Status BindText(int index, std::string_view value);

  // Runs to the next row: true when a row is available, false when the statement is done.
  // A failed step resets the statement.
  Result<bool> Step();
  // Steps until done (statements without result rows, or when rows do not matter).
  [[nodiscard]] Status Run();
  // Rewinds the statement and clears its bindings so it can run again.
  void Reset();

  int ColumnCount() const;
  outbox::Value ColumnValue(int column) const;
  int64_t ColumnInt64(int column) const;
  std::string ColumnText(int column) const;
  bool ColumnIsNull(int column) const;
  // Bytes of the column's text or blob (0 for other types), without converting it.
  uint64_t ColumnSize(int column) const;

  std::string_view sql() const;
  sqlite3_stmt* get() const { return stmt_; }
  bool valid() const { return stmt_ != nullptr; }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_SQLITE_STMT_H_
