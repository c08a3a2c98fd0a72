#include "cli/sqlite_handle.h"

namespace owsync::cli {

Status SqliteStatus(sqlite3* db, int rc, const std::string& what) {
  std::string msg = what + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) +
                    " (sqlite code " + std::to_string(rc) + ")";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Busy(msg);
    case SQLITE_FULL:
      return Status::NoSpace(msg);
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return Status::IOError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(msg);
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
      return Status::DataError(msg);
    default:
      return Status::Internal(msg);
  }
}

Result<SqliteDb> OpenSqlite(const std::string& path, bool create, int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) return SqliteStatus(raw, rc, "open " + path);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  return db;
}

Result<SqliteStmt> PrepareSqlite(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr);
  SqliteStmt stmt(raw);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, "prepare " + sql.substr(0, 200));
  return stmt;
}

Status ExecSqlite(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  if (err != nullptr) sqlite3_free(err);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, "exec " + sql.substr(0, 200));
  return Status::OK();
}

Result<int64_t> QueryInt(sqlite3* db, const std::string& sql) {
  OWSYNC_ASSIGN_OR_RETURN(SqliteStmt stmt, PrepareSqlite(db, sql));
  int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_ROW) return static_cast<int64_t>(sqlite3_column_int64(stmt.get(), 0));
  if (rc == SQLITE_DONE) return int64_t{0};
  return SqliteStatus(db, rc, "step " + sql.substr(0, 200));
}

Status BindValue(sqlite3_stmt* stmt, int index, const outbox::Value& value) {
  int rc = SQLITE_OK;
  switch (value.type) {
    case outbox::ValueType::kNull:
      rc = sqlite3_bind_null(stmt, index);
      break;
    case outbox::ValueType::kInteger:
      rc = sqlite3_bind_int64(stmt, index, value.integer);
      break;
    case outbox::ValueType::kReal:
      rc = sqlite3_bind_double(stmt, index, value.real);
      break;
    case outbox::ValueType::kText:
      rc = sqlite3_bind_text64(stmt, index, value.bytes.data(), value.bytes.size(),
                               SQLITE_TRANSIENT, SQLITE_UTF8);
      break;
    case outbox::ValueType::kBlob:
      rc = sqlite3_bind_blob64(stmt, index, value.bytes.data(), value.bytes.size(),
                               SQLITE_TRANSIENT);
      break;
  }
  if (rc != SQLITE_OK) {
    return SqliteStatus(sqlite3_db_handle(stmt), rc, "bind " + std::to_string(index));
  }
  return Status::OK();
}

outbox::Value ColumnValue(sqlite3_stmt* stmt, int index) {
  switch (sqlite3_column_type(stmt, index)) {
    case SQLITE_INTEGER:
      return outbox::Value::Integer(sqlite3_column_int64(stmt, index));
    case SQLITE_FLOAT:
      return outbox::Value::Real(sqlite3_column_double(stmt, index));
    case SQLITE_TEXT: {
      const char* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, index));
      return outbox::Value::Text(std::string_view(p, sqlite3_column_bytes(stmt, index)));
    }
    case SQLITE_BLOB: {
      const char* p = static_cast<const char*>(sqlite3_column_blob(stmt, index));
      int n = sqlite3_column_bytes(stmt, index);
      return outbox::Value::Blob(n == 0 ? std::string_view() : std::string_view(p, n));
    }
    default:
      return outbox::Value::Null();
  }
}

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace owsync::cli
