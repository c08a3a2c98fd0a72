#include "capture/sqlite_txn.h"

#include <utility>

namespace owsync::capture {

Result<SqliteTxn> SqliteTxn::BeginRead(SqliteDb* db) {
  OWSYNC_RETURN_IF_ERROR(db->Exec("BEGIN"));
  return SqliteTxn(db);
}

Result<SqliteTxn> SqliteTxn::BeginImmediate(SqliteDb* db) {
  OWSYNC_RETURN_IF_ERROR(db->Exec("BEGIN IMMEDIATE"));
  return SqliteTxn(db);
}

SqliteTxn::~SqliteTxn() { Rollback(); }

SqliteTxn::SqliteTxn(SqliteTxn&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Status SqliteTxn::Commit() {
  if (db_ == nullptr) return Status::Internal("commit of a finished transaction");
  Status status = db_->Exec("COMMIT");
  if (!status.ok()) {
    Rollback();
    return status;
  }
  db_ = nullptr;
  return Status::OK();
}

void SqliteTxn::Rollback() {
  if (db_ == nullptr) return;
  if (db_->InTransaction()) (void)db_->Exec("ROLLBACK");
  db_ = nullptr;
}

}  // namespace owsync::capture
