#include "capture/sqlite_db.h"

#include <sqlite3.h>

#include <utility>

#include "capture/sqlite_status.h"

namespace owsync::capture {

SqliteDb::~SqliteDb() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

SqliteDb::SqliteDb(SqliteDb&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      path_(std::move(other.path_)),
      busy_timeout_ms_(other.busy_timeout_ms_) {}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
    busy_timeout_ms_ = other.busy_timeout_ms_;
  }
  return *this;
}

Result<SqliteDb> SqliteDb::Open(const std::string& path, const SqliteDbOptions& options) {
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (options.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE;
    if (options.create) flags |= SQLITE_OPEN_CREATE;
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqliteDb db;
  db.db_ = raw;  // closed by ~SqliteDb even when open failed
  db.path_ = path;
  if (rc != SQLITE_OK) {
    Status status = SqliteStatus(rc, raw, "open " + path);
    if ((rc & 0xff) == SQLITE_CANTOPEN && !options.create) {
      return Status::NotFound("cannot open SQLite database " + path +
                              " (missing, or its directory is not accessible)");
    }
    return status;
  }
  sqlite3_extended_result_codes(raw, 1);
  OWSYNC_RETURN_IF_ERROR(db.SetBusyTimeout(options.busy_timeout_ms));
  // Fail now, not at the first query, when the file is not a database.
  OWSYNC_RETURN_IF_ERROR(db.SchemaVersion().status());
  return db;
}

Status SqliteDb::Exec(std::string_view sql) {
  std::string text(sql);
  char* error = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  if (error != nullptr) sqlite3_free(error);
  return SqliteStatus(rc, db_, text.size() > 200 ? text.substr(0, 200) + "..." : text);
}

Result<SqliteStmt> SqliteDb::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    if (stmt != nullptr) sqlite3_finalize(stmt);
    return SqliteStatus(rc, db_, "prepare \"" + std::string(sql) + "\"");
  }
  return SqliteStmt(db_, stmt);
}

Result<int64_t> SqliteDb::QueryInt64(std::string_view sql) {
  OWSYNC_ASSIGN_OR_RETURN(SqliteStmt stmt, Prepare(sql));
  OWSYNC_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? stmt.ColumnInt64(0) : 0;
}

Status SqliteDb::SetBusyTimeout(int ms) {
  busy_timeout_ms_ = ms;
  return SqliteStatus(sqlite3_busy_timeout(db_, ms), db_, "busy_timeout");
}

Result<int64_t> SqliteDb::DataVersion() { return QueryInt64("PRAGMA main.data_version"); }

Result<int64_t> SqliteDb::SchemaVersion() { return QueryInt64("PRAGMA main.schema_version"); }

Result<bool> SqliteDb::HasMoved() {
  int moved = 0;
  int rc = sqlite3_file_control(db_, "main", SQLITE_FCNTL_HAS_MOVED, &moved);
  if (rc == SQLITE_NOTFOUND) return false;  // VFS without the check
  OWSYNC_RETURN_IF_ERROR(SqliteStatus(rc, db_, "file_control HAS_MOVED"));
  return moved != 0;
}

bool SqliteDb::InTransaction() const { return db_ != nullptr && sqlite3_get_autocommit(db_) == 0; }

}  // namespace owsync::capture
