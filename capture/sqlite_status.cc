#include "capture/sqlite_status.h"

#include <sqlite3.h>

#include <string>

namespace owsync::capture {

Status SqliteStatus(int rc, sqlite3* db, std::string_view context) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return Status::OK();
  std::string message(context);
  message += ": ";
  const char* detail = nullptr;
  if (db != nullptr && sqlite3_extended_errcode(db) == rc) detail = sqlite3_errmsg(db);
  message += detail != nullptr ? detail : sqlite3_errstr(rc);
  message += " (sqlite code " + std::to_string(rc) + ")";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Busy(message);
    case SQLITE_FULL:
      return Status::NoSpace(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(message);
    case SQLITE_SCHEMA:
      return Status(StatusCode::kAborted, message, /*retryable=*/true);
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return Status::PermissionDenied(message);
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return Status::DataError(message);
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return Status::IOError(message);
    case SQLITE_INTERRUPT:
      return Status::Aborted(message);
    default:
      return Status::Internal(message);
  }
}

}  // namespace owsync::capture
