// TenantClaim: how a leader takes a tenant over before it ships it. The claim raises the epoch
// on the tenant's offset row (sync_metadata.tenant_offsets.acked_epoch) to the leader's own,
// only if no newer epoch claimed it and the epoch is the lease's current one, and only then
// reads the acked offset: from that commit on, every batch of an older epoch fails its
// per-batch check (BatchApplier::Claim), so a deposed leader commits nothing more.
//
// A batch in flight holds the row lock until it commits. The claim waits for it up to
// `wait_micros` (lock_timeout). If the row is still locked then, our lease being current means
// the previous leader's lease has ended (expired, or its session vanished): the holder is a
// deposed leader's batch that will never finish by itself (a frozen process mid-COPY: no
// statement_timeout ends a COPY stalled on its client). The claim then ends the sessions in
// pg_blocking_pids() of its own waiting statement that are this tenant's shippers (they hold
// its ShipperSessionMark, whatever their application_name), while `still_leader` holds, and
// waits up to `terminate_wait_micros` more. Other sessions (an operator's `provision
// --migrate`) are waited for, never ended, and said once each.
#ifndef OWSYNC_SHIPPER_TENANT_CLAIM_H_
#define OWSYNC_SHIPPER_TENANT_CLAIM_H_

#include <functional>
#include <set>
#include <string>

#include "shipper/batch_applier.h"
#include "shipper/pg_connection.h"

namespace owsync::shipper {

struct TenantClaimOptions {
  std::string client;
  std::string cluster;  // the lease whose epoch we claim with
  std::string url;      // for the second connection that ends blockers
  // Short: at a term's first claim the previous lease is already over, and a deposed leader's
  // batch rolled back is simply shipped again by us (a frozen one would hold the row forever).
  int64_t wait_micros = 150'000;
  int64_t terminate_wait_micros = 10'000'000;
  std::function<bool()> still_leader;  // checked before ending anyone's session
};

class TenantClaim {
 public:
  TenantClaim(Clock* clock, Logger* logger, TenantClaimOptions options)
      : clock_(clock), logger_(logger), options_(std::move(options)) {}

  // The claimed offset row. FailedPrecondition ("fenced") when a newer epoch holds the tenant
  // or `epoch` is not the lease's; NotFound when the tenant is not registered; Busy (retryable)
  // when the row stayed locked; connection errors as PgConnection returns them.
  Result<TenantOffset> Claim(PgConnection* conn, int64_t epoch);

 private:
  // One attempt in its own transaction with lock_timeout = `lock_wait_micros`; `backend_pid`
  // receives the server pid of the claiming session (valid through a transaction pooler too).
  Result<TenantOffset> Attempt(PgConnection* conn, int64_t epoch, int64_t lock_wait_micros,
                               std::atomic<int>* backend_pid);
  // Ends this tenant's shipper sessions blocking `pid`; how many were ended. Sessions waited
  // for are logged once (their pids go into *told).
  Result<int> EndBlockers(PgConnection* helper, int pid, std::set<std::string>* told);

  Clock* clock_;
  Logger* logger_;
  TenantClaimOptions options_;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_TENANT_CLAIM_H_
