// TenantShipper: ships one tenant's outbox into PostgreSQL. A reader thread decodes records
// from the acked offset up to the durable watermark into a bounded lock-free queue (bounded
// by records and by bytes: memory does not grow with the backlog); the calling thread builds
// batches (BATCH_SIZE rows, BATCH_BYTES bytes; a schema record after data starts a new batch)
// and applies each with BatchApplier, retrying retryable errors (connection loss,
// serialization failures, lock timeouts) with jittered backoff on the same batch. After a
// commit it publishes the acked offset to the outbox directory (ACKED) so retention can free
// disk. Anything not retryable stops this tenant: Run() returns it.
#ifndef OWSYNC_SHIPPER_TENANT_SHIPPER_H_
#define OWSYNC_SHIPPER_TENANT_SHIPPER_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "shipper/batch_applier.h"
#include "shipper/epoch_source.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/logger.h"
#include "util/status.h"

namespace owsync::shipper {

struct TenantShipperOptions {
  std::string client;
  std::string outbox_dir;
  std::string url;      // PostgreSQL URL of the runtime role
  std::string cluster;  // the lease whose epoch fences the batches
  size_t batch_rows = 5000;
  size_t batch_bytes = 8 << 20;
  size_t queue_bytes = 24 << 20;     // decoded records in flight (one larger record may pass)
  int64_t sync_interval_micros = 0;  // 0 = continuous
  bool once = false;                 // stop (OK) once everything durable at start is acknowledged
  bool ignore_watermark = false;     // offline replay of a dead writer's outbox
  bool write_acked_file = true;
  int64_t ack_file_interval_micros = 1'000'000;
  int64_t statement_micros = 300'000'000;
  int64_t connect_micros = 10'000'000;
  int64_t max_backoff_micros = 30'000'000;
};

struct TenantProgress {
  uint64_t acked_offset = 0;
  uint64_t durable_offset = 0;  // last watermark the reader saw
  int64_t batches = 0;
  int64_t rows = 0;
  int64_t dead_letters = 0;
  int64_t conflicts = 0;
  int64_t retries = 0;
  int64_t verified_ranges = 0;     // in-stream verification: key ranges compared
  int64_t drift_rows = 0;          // rows found different from SQLite (each sent again)
  int64_t repairs_requested = 0;   // repair requests written for capture
  int64_t last_commit_micros = 0;  // clock NowMicros of the last commit (0 = none)
  std::string last_error;
};

class TenantShipper {
 public:
  // All pointers must outlive the shipper.
  TenantShipper(FileSystem* fs, Clock* clock, Logger* logger, TenantShipperOptions options,
                const EpochSource* epochs);

  // Ships until RequestStop() (OK), or with `once` until caught up (OK). Returns the error
  // that stopped the tenant: not retryable (fenced, identity mismatch, gap, unprovisioned
  // table, corrupt outbox, permission) or Aborted when leadership was lost.
  [[nodiscard]] Status Run();
  void RequestStop() { stop_.store(true); }
  // Ships what is durable now instead of waiting out the rest of a sync interval (a manual
  // trigger): the reader's next wait at the watermark ends at once. Any thread.
  void ShipNow() { ship_now_.store(true); }

  TenantProgress progress() const;
  const std::string& client() const { return options_.client; }

 private:
  struct Pipeline;
  [[nodiscard]] Status RunOnce(bool* retry);
  // FailedPrecondition naming the recovery when the outbox PostgreSQL acknowledged (same id)
  // does not hold the acknowledged record (AckedCheck): restored from an older copy.
  [[nodiscard]] Status CheckOutboxHoldsAcked(const TenantOffset& offset, const std::string& rebase);
  // After a commit: logs what the batch's verify records found and asks capture to send the
  // drifted rows again (outbox/repair_request.h).
  void HandleVerified(const std::string& outbox_id, const std::vector<DriftReport>& verified);

  FileSystem* fs_;
  Clock* clock_;
  Logger* logger_;
  TenantShipperOptions options_;
  const EpochSource* epochs_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ship_now_{false};        // set by ShipNow, consumed by the reader's wait
  std::set<std::string> skip_reasons_said_;  // verification skips already logged
  mutable std::mutex mu_;
  TenantProgress progress_;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_TENANT_SHIPPER_H_
