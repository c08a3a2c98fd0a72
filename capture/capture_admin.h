// CaptureAdmin: operations on a tenant database outside the capture loop: the status report,
// snapshot requests (picked up by a running capture at its next wakeup: the mark lives in
// _owsync_meta) and uninstalling. Writes run in short BEGIN IMMEDIATE transactions.
#ifndef OWSYNC_CAPTURE_CAPTURE_ADMIN_H_
#define OWSYNC_CAPTURE_CAPTURE_ADMIN_H_

#include <string>

#include "capture/capture_status.h"
#include "capture/catalog.h"
#include "capture/sqlite_db.h"
#include "capture/table_filter.h"
#include "util/result.h"
#include "util/status.h"

namespace owsync::capture {

class CaptureAdmin {
 public:
  // Read-only (the database may be opened read-only).
  static Result<CaptureStatus> ReadStatus(SqliteDb* db, const TableFilter& filter);
  // Marks `table` ("" = every replicable table of `catalog`) as owing a snapshot. NotFound
  // for an unknown table, InvalidArgument for one that is not replicated (with the reason).
  [[nodiscard]] static Status MarkSnapshots(SqliteDb* db, const Catalog& catalog,
                                            const std::string& table);
  // Removes every owsync trigger and owsync's tables, in one transaction. Changes made after
  // this are not captured; a later capture starts a new generation with a full snapshot.
  [[nodiscard]] static Status Uninstall(SqliteDb* db);
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_CAPTURE_ADMIN_H_
