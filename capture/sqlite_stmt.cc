#include "capture/sqlite_stmt.h"

#include <sqlite3.h>

#include <utility>

#include "capture/sqlite_status.h"

namespace owsync::capture {

SqliteStmt::~SqliteStmt() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

SqliteStmt::SqliteStmt(SqliteStmt&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

SqliteStmt& SqliteStmt::operator=(SqliteStmt&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Status SqliteStmt::Bind(int index, const outbox::Value& value) {
  int rc = SQLITE_OK;
  switch (value.type) {
    case outbox::ValueType::kNull:
      rc = sqlite3_bind_null(stmt_, index);
      break;
    case outbox::ValueType::kInteger:
      rc = sqlite3_bind_int64(stmt_, index, value.integer);
      break;
    case outbox::ValueType::kReal:
      rc = sqlite3_bind_double(stmt_, index, value.real);
      break;
    case outbox::ValueType::kText:
      rc = sqlite3_bind_text64(stmt_, index, value.bytes.data(), value.bytes.size(),
                               SQLITE_TRANSIENT, SQLITE_UTF8);
      break;
    case outbox::ValueType::kBlob:
      // A zero-length blob must stay a blob, not become NULL: pass a non-null pointer.
      rc = sqlite3_bind_blob64(stmt_, index, value.bytes.empty() ? "" : value.bytes.data(),
                               value.bytes.size(), SQLITE_TRANSIENT);
      break;
  }
  return SqliteStatus(rc, db_, "bind");
}

Status SqliteStmt::BindInt64(int index, int64_t value) {
  return SqliteStatus(sqlite3_bind_int64(stmt_, index, value), db_, "bind");
}

Status SqliteStmt::BindText(int index, std::string_view value) {
  return SqliteStatus(
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      db_, "bind");
}

Result<bool> SqliteStmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status status = SqliteStatus(rc, db_, std::string("step \"") + std::string(sql()) + "\"");
  sqlite3_reset(stmt_);
  return status;
}

Status SqliteStmt::Run() {
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::OK();
  }
}

void SqliteStmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int SqliteStmt::ColumnCount() const { return sqlite3_column_count(stmt_); }

outbox::Value SqliteStmt::ColumnValue(int column) const {
  switch (sqlite3_column_type(stmt_, column)) {
    case SQLITE_INTEGER:
      return outbox::Value::Integer(sqlite3_column_int64(stmt_, column));
    case SQLITE_FLOAT:
      return outbox::Value::Real(sqlite3_column_double(stmt_, column));
    case SQLITE_TEXT: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
      int n = sqlite3_column_bytes(stmt_, column);
      return outbox::Value::Text(std::string_view(p == nullptr ? "" : p, n));
    }
    case SQLITE_BLOB: {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
      int n = sqlite3_column_bytes(stmt_, column);
      return outbox::Value::Blob(std::string_view(p == nullptr ? "" : p, n));
    }
    default:
      return outbox::Value::Null();
  }
}

int64_t SqliteStmt::ColumnInt64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string SqliteStmt::ColumnText(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  int n = sqlite3_column_bytes(stmt_, column);
  return p == nullptr ? std::string() : std::string(p, n);
}

bool SqliteStmt::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

uint64_t SqliteStmt::ColumnSize(int column) const {
  int type = sqlite3_column_type(stmt_, column);
  if (type != SQLITE_TEXT && type != SQLITE_BLOB) return 0;
  return static_cast<uint64_t>(sqlite3_column_bytes(stmt_, column));
}

std::string_view SqliteStmt::sql() const {
  const char* s = stmt_ == nullptr ? nullptr : sqlite3_sql(stmt_);
  return s == nullptr ? std::string_view() : std::string_view(s);
}

}  // namespace owsync::capture
