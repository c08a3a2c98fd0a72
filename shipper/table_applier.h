// TableApplier: applies one table's share of a batch inside the batch's open transaction.
// Rows are encoded once (values that do not fit their column become dead letters before
// PostgreSQL sees them), then either COPYed straight into the target (when every row is an
// insert of a new key: fastest, tried under a savepoint) or COPYed into an ON COMMIT DROP
// staging table and upserted so that a row only moves forward
// (target._owsync_offset < staged offset) and never over a row someone else changed
// (_owsync_dirty: logged to conflict_log as 'manual', target kept). A data error PostgreSQL
// still reports is isolated by bisecting the rows under savepoints. Not thread-safe.
#ifndef OWSYNC_SHIPPER_TABLE_APPLIER_H_
#define OWSYNC_SHIPPER_TABLE_APPLIER_H_

#include <string>
#include <utility>
#include <vector>

#include "shipper/apply_context.h"
#include "shipper/pg_connection.h"
#include "shipper/tenant_catalog.h"
#include "util/status.h"

namespace owsync::shipper {

class TableApplier {
 public:
  // `conn` and `ctx` must outlive the applier; `mapping` must have a source schema.
  // `name_seq` numbers the transaction's staging tables and savepoints (shared by the
  // TableAppliers of one transaction).
  TableApplier(PgConnection* conn, const ApplyContext* ctx, const TableMapping* mapping,
               uint64_t* name_seq)
      : conn_(conn), ctx_(ctx), m_(mapping), name_seq_(name_seq) {}

  // Applies `rows` (kUpsert/kDelete, at most one per key, ascending offsets). `try_direct`
  // allows the direct COPY path; *direct_failed tells the caller it was tried and failed.
  // Records refused are appended to *dead. Returns an error that is not a data error (the
  // caller rolls the transaction back); a Corruption when a row does not match its schema.
  [[nodiscard]] Status Apply(const std::vector<const outbox::Record*>& rows, bool try_direct,
                             bool* direct_failed, std::vector<DeadLetter>* dead, ApplyStats* stats);

  // Tombstones rows of the table last written below `end.snapshot_begin_offset` (the
  // snapshot did not carry them); dirty ones are logged as delete conflicts instead.
  [[nodiscard]] Status ApplySnapshotEnd(const outbox::Record& end, ApplyStats* stats);

 private:
  using Rows = std::vector<const outbox::Record*>;
  [[nodiscard]] Status EncodeRow(const outbox::Record& r, std::string* line, std::string* reason);
  std::string CopyColumns() const;
  // COPYs rows [begin, end) into `target` (a quoted relation name), encoding them in chunks
  // while the earlier chunks travel (the COPY text of a batch never sits in memory whole).
  // With `dead` (the first pass over the rows) rows whose values do not fit are left out,
  // appended to *dead and the rows that fit to *good; without it every row must fit.
  [[nodiscard]] Status CopyRows(const std::string& target, const Rows& rows, size_t begin,
                                size_t end, std::vector<DeadLetter>* dead, Rows* good,
                                ApplyStats* stats);
  [[nodiscard]] Status StageAndUpsert(const Rows& rows, size_t begin, size_t end,
                                      std::vector<DeadLetter>* dead, Rows* good, ApplyStats* stats);
  [[nodiscard]] Status ApplyBisecting(const Rows& rows, size_t begin, size_t end,
                                      std::vector<DeadLetter>* dead, ApplyStats* stats);
  static void Accumulate(const ApplyStats& attempt, ApplyStats* stats);
  [[nodiscard]] Status Exec(const std::string& sql);
  Deadline StatementDeadline() const;
  std::string KeyJoin(const std::string& a, const std::string& b) const;
  std::string KeyArray(const std::string& alias) const;

  PgConnection* conn_;
  const ApplyContext* ctx_;
  const TableMapping* m_;
  uint64_t* name_seq_;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_TABLE_APPLIER_H_
