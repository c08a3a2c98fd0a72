#include "capture/capture_meta.h"

#include "capture/generation_guard.h"
#include "capture/sql_quote.h"

namespace owsync::capture {

Status CaptureMeta::Create() {
  OWSYNC_RETURN_IF_ERROR(db_->Exec("CREATE TABLE IF NOT EXISTS " + QuoteIdentifier(kTable) +
                                   " (key TEXT PRIMARY KEY NOT NULL, value)"));
  OWSYNC_ASSIGN_OR_RETURN(auto format, Get(kFormat));
  if (!format.has_value()) return Put(kFormat, kFormatVersion);
  return Status::OK();
}

Result<bool> CaptureMeta::Exists() {
  OWSYNC_ASSIGN_OR_RETURN(
      int64_t n, db_->QueryInt64("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                                 "name = '_owsync_meta'"));
  return n > 0;
}

Result<std::optional<std::string>> CaptureMeta::Get(std::string_view key) {
  OWSYNC_ASSIGN_OR_RETURN(SqliteStmt stmt,
                          db_->Prepare("SELECT value FROM _owsync_meta WHERE key = ?1"));
  OWSYNC_RETURN_IF_ERROR(stmt.BindText(1, key));
  OWSYNC_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row || stmt.ColumnIsNull(0)) return std::optional<std::string>();
  return std::optional<std::string>(stmt.ColumnText(0));
}

Status CaptureMeta::Put(std::string_view key, std::string_view value) {
  OWSYNC_ASSIGN_OR_RETURN(
      SqliteStmt stmt,
      db_->Prepare("INSERT OR REPLACE INTO _owsync_meta(key, value) VALUES(?1, ?2)"));
  OWSYNC_RETURN_IF_ERROR(stmt.BindText(1, key));
  OWSYNC_RETURN_IF_ERROR(stmt.BindText(2, value));
  return stmt.Run();
}

Status CaptureMeta::Delete(std::string_view key) {
  OWSYNC_ASSIGN_OR_RETURN(SqliteStmt stmt, db_->Prepare("DELETE FROM _owsync_meta WHERE key = ?1"));
  OWSYNC_RETURN_IF_ERROR(stmt.BindText(1, key));
  return stmt.Run();
}

Result<std::map<std::string, std::string>> CaptureMeta::GetAll() {
  OWSYNC_ASSIGN_OR_RETURN(SqliteStmt stmt,
                          db_->Prepare("SELECT key, value FROM _owsync_meta ORDER BY key"));
  std::map<std::string, std::string> out;
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    out[stmt.ColumnText(0)] = stmt.ColumnText(1);
  }
  return out;
}

Result<std::map<std::string, std::string>> CaptureMeta::GetWithPrefix(std::string_view prefix) {
  OWSYNC_ASSIGN_OR_RETURN(SqliteStmt stmt,
                          db_->Prepare("SELECT substr(key, length(?1) + 1), value FROM "
                                       "_owsync_meta WHERE substr(key, 1, length(?1)) = ?1 "
                                       "ORDER BY key"));
  OWSYNC_RETURN_IF_ERROR(stmt.BindText(1, prefix));
  std::map<std::string, std::string> out;
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    out[stmt.ColumnText(0)] = stmt.ColumnText(1);
  }
  return out;
}

Result<std::map<std::string, std::string>> CaptureMeta::PendingSnapshots() {
  return GetWithPrefix(kSnapshotPrefix);
}

Status CaptureMeta::MarkSnapshot(std::string_view table, std::string_view reason) {
  return Put(std::string(kSnapshotPrefix) + std::string(table),
             std::string(reason) + " #" + GenerationGuard::NewId().substr(0, 12));
}

Status CaptureMeta::ClearSnapshot(std::string_view table, std::string_view value) {
  OWSYNC_ASSIGN_OR_RETURN(SqliteStmt stmt,
                          db_->Prepare("DELETE FROM _owsync_meta WHERE key = ?1 AND value = ?2"));
  OWSYNC_RETURN_IF_ERROR(stmt.BindText(1, std::string(kSnapshotPrefix) + std::string(table)));
  OWSYNC_RETURN_IF_ERROR(stmt.BindText(2, value));
  return stmt.Run();
}

Status CaptureMeta::Drop() { return db_->Exec("DROP TABLE IF EXISTS " + QuoteIdentifier(kTable)); }

}  // namespace owsync::capture
