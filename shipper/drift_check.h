// DriftCheck: applies one verify record (outbox/verify_range.h) inside the batch transaction,
// once every record before it is applied: reads what PostgreSQL holds of the table over the
// record's key range, computes each row's RowDigest (canonical/row_digest.h) from it, and
// compares with what capture read of SQLite at that point of the stream. A row missing (absent
// or tombstoned), different, or extra (only with range semantics) is drift, unless it is
// explained: a dead letter (its newest image was refused), a pending conflict, or a row
// changed in PostgreSQL by someone else (_owsync_dirty: conflict resolution owns it). Drift is
// recorded in sync_metadata.drift_log and returned, so the caller asks capture to send those
// rows again (outbox/repair_request.h) once the batch committed.
//
// The check runs under a savepoint: if PostgreSQL refuses its queries, or the table's columns
// in PostgreSQL cannot be compared with SQLite's (a column not provisioned yet, a type other
// than the declared one maps to), the range is skipped with the reason (never a stop: a
// verification problem must not halt shipping).
#ifndef OWSYNC_SHIPPER_DRIFT_CHECK_H_
#define OWSYNC_SHIPPER_DRIFT_CHECK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "outbox/verify_range.h"
#include "shipper/apply_context.h"
#include "shipper/pg_connection.h"
#include "shipper/tenant_catalog.h"
#include "util/result.h"

namespace owsync::shipper {

struct DriftReport {
  uint64_t offset = 0;  // of the verify record
  std::string table;
  std::string range;      // "(lower, upper]" as record keys, for logs
  std::string skipped;    // why the range was not compared ("" when it was)
  int64_t compared = 0;   // SQLite rows in the range
  int64_t missing = 0;    // in SQLite, not live in PostgreSQL
  int64_t different = 0;  // both, other values
  int64_t extra = 0;      // live in PostgreSQL, not in SQLite
  int64_t explained = 0;  // differing rows that are dead letters, conflicts, dirty
  std::vector<std::vector<outbox::Value>> keys;  // of the drift rows: to send again
  bool drift() const { return missing + different + extra > 0; }
};

class DriftCheck {
 public:
  // `conn` and `ctx` must outlive the check; `mapping` is the table's (it must exist).
  DriftCheck(PgConnection* conn, const ApplyContext* ctx, const TableMapping* mapping,
             uint64_t* name_seq)
      : conn_(conn), ctx_(ctx), m_(mapping), name_seq_(name_seq) {}

  // Compares `range` (the record at outbox offset `offset`). Errors only when the transaction
  // itself is lost (connection, retryable): the caller retries the batch.
  Result<DriftReport> Run(const outbox::VerifyRange& range, uint64_t offset);

 private:
  Result<DriftReport> Compare(const outbox::VerifyRange& range, uint64_t offset);

  PgConnection* conn_;
  const ApplyContext* ctx_;
  const TableMapping* m_;
  uint64_t* name_seq_;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_DRIFT_CHECK_H_
