// Maps SQLite result codes to owsync Status: SQLITE_BUSY/LOCKED -> Busy (retryable),
// SQLITE_FULL -> NoSpace (retryable), SQLITE_CORRUPT/NOTADB -> Corruption, SQLITE_SCHEMA ->
// Aborted (retryable: the schema changed under a statement), permission and read-only errors ->
// PermissionDenied, constraint and type errors -> DataError, I/O errors -> IOError, the rest ->
// Internal. The message names what was being done and SQLite's own explanation.
#ifndef OWSYNC_CAPTURE_SQLITE_STATUS_H_
#define OWSYNC_CAPTURE_SQLITE_STATUS_H_

#include <string_view>

#include "util/status.h"

struct sqlite3;

namespace owsync::capture {

// `db` may be null (then only the code's description is used). OK for SQLITE_OK, _ROW, _DONE.
Status SqliteStatus(int rc, sqlite3* db, std::string_view context);

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_SQLITE_STATUS_H_
