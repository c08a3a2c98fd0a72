// BatchApplier: applies one Batch to PostgreSQL in one transaction (DESIGN.md invariants 2, 3,
// 5): claim the tenant's offset row with the leader epoch (fencing, row lock held to commit),
// check the outbox id and that the batch continues the acked offset, apply schema records,
// each table's rows (TableApplier), snapshot ends, dead letters, then the new acked offset.
// One instance per tenant, used by one thread; the connection is the caller's.
#ifndef OWSYNC_SHIPPER_BATCH_APPLIER_H_
#define OWSYNC_SHIPPER_BATCH_APPLIER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "shipper/apply_context.h"
#include "shipper/batch.h"
#include "shipper/drift_check.h"
#include "shipper/pg_connection.h"
#include "shipper/tenant_catalog.h"
#include "util/result.h"

namespace owsync::shipper {

// Where the tenant stands in PostgreSQL (sync_metadata.tenant_offsets).
struct TenantOffset {
  uint64_t acked_offset = 0;
  std::string outbox_id;  // "" = never shipped
  int64_t acked_epoch = 0;
  int64_t schema_version = 0;
  std::string deployment_id;
  std::string acked_fingerprint;  // of the record at acked_offset ("" = not known)
};

struct BatchOutcome {
  uint64_t acked_offset = 0;     // after the batch (inclusive)
  bool already_applied = false;  // the batch was below the acked offset: nothing done
  ApplyStats stats;
  std::vector<DriftReport> verified;  // one per verify record (drift, or why it was skipped)
};

class BatchApplier {
 public:
  // `cluster` names the lease whose epoch must be `epoch` (the caller's leadership).
  BatchApplier(ApplyContext ctx, std::string cluster, TenantCatalog catalog)
      : ctx_(std::move(ctx)), cluster_(std::move(cluster)), catalog_(std::move(catalog)) {}

  // Reads the tenant's offset row (no lock). NotFound when the tenant is not registered.
  static Result<TenantOffset> ReadOffset(PgConnection* conn, const std::string& client,
                                         Deadline deadline);

  // Applies `batch` with leader epoch `epoch`. Errors: FailedPrecondition when fenced (a newer
  // epoch claimed the tenant, or `epoch` is not the lease's), on an outbox id mismatch or gap
  // (naming `owsync tenant rebase`), or an unprovisioned table (naming provision --migrate);
  // retryable errors (connection, serialization, lock timeout) leave nothing committed: the
  // caller retries the same batch. On any error the transaction is rolled back.
  Result<BatchOutcome> Apply(PgConnection* conn, const Batch& batch, int64_t epoch);

  const ApplyContext& context() const { return ctx_; }

 private:
  Result<BatchOutcome> ApplyInTransaction(PgConnection* conn, const Batch& batch, int64_t epoch);
  Result<TenantOffset> Claim(PgConnection* conn, int64_t epoch);
  // Rows of one table waiting to be applied: the newest record per PostgreSQL key.
  struct PendingTable {
    std::vector<const outbox::Record*> rows;
    std::unordered_map<std::string, size_t> index;  // PostgreSQL key bytes -> position in rows
  };
  // Adds `r` to `p`, replacing an older record with the same PostgreSQL key (an older upsert
  // of another SQLite key becomes a dead letter: PostgreSQL cannot hold both; true then).
  bool AddPending(const TableMapping& m, const outbox::Record& r, PendingTable* p,
                  std::vector<DeadLetter>* dead) const;
  [[nodiscard]] Status WriteDeadLetters(PgConnection* conn, const std::vector<DeadLetter>& dead);
  Deadline StatementDeadline() const;

  ApplyContext ctx_;
  std::string cluster_;
  TenantCatalog catalog_;
  int64_t schema_version_ = -1;
  std::optional<bool> lz4_;  // whether the server has lz4 TOAST compression
  // Per table: batches to wait before trying the direct COPY path again after it failed.
  std::map<std::string, int> direct_backoff_;
  std::map<std::string, int> direct_wait_;
  // Tables with no live row when the snapshot that began at this offset began (committed).
  std::map<std::string, uint64_t> empty_at_begin_;
  std::map<std::string, uint64_t> pending_empty_at_begin_;  // of the batch being committed
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_BATCH_APPLIER_H_
