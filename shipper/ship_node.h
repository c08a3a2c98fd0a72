// ShipNode: one `owsync ship` process of a host's HA pair. It campaigns for the cluster lease
// (shipper/lease.h) and, for as long as it leads, runs a ShipRunner over every tenant outbox;
// when it loses the lease it stops shipping at once and campaigns again as a follower.
//
// Takeover: every tenant shipper of a new term claims its tenant (raises the epoch on the
// offset row, ending a deposed leader's batch that still holds the row after the lease passed,
// see TenantClaim) before it reads the acked offset. A planned stop (RequestStop) finishes the
// batch in flight, then releases the lease and the advisory lock so the follower takes over at
// once. Leadership only changes on failure or planned stop: a follower never takes a live,
// renewed lease.
//
// Threads: Run() blocks the caller; the accessors may be called from any thread (the HTTP API).
#ifndef OWSYNC_SHIPPER_SHIP_NODE_H_
#define OWSYNC_SHIPPER_SHIP_NODE_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "shipper/lease.h"
#include "shipper/lease_epoch_source.h"
#include "shipper/ship_runner.h"

namespace owsync::shipper {

struct ShipNodeOptions {
  std::string role;  // ROLE label (primary / secondary): names the node in cluster_nodes
  LeaseOptions lease;
  std::string url;       // DATABASE_URL: lease statements
  std::string lock_url;  // session-mode URL for the advisory lock; "" = fast path off
  ShipRunnerOptions runner;
  // Give up campaigning after this long without leading (Busy); 0 = campaign forever.
  int64_t lease_wait_micros = 0;
};

// What a node is doing now (for /health and the heartbeat).
struct NodeSnapshot {
  std::string node_id;
  std::string role;
  bool is_leader = false;
  int64_t epoch = 0;                // ours while leading, else 0
  LeaseObservation lease;           // the lease row as last seen (holder, epoch, expiry)
  bool postgres_reachable = false;  // the last lease statement succeeded
  int64_t started_micros = 0;       // clock NowMicros at construction
  int64_t last_commit_micros = 0;   // newest batch commit of any tenant (0 = none yet)
};

class ShipNode {
 public:
  // Pointers must outlive the node.
  ShipNode(FileSystem* fs, Clock* clock, Logger* logger, ShipNodeOptions options);
  ~ShipNode();
  ShipNode(const ShipNode&) = delete;
  ShipNode& operator=(const ShipNode&) = delete;

  // Follows and leads until RequestStop() (OK after the lease is released). With
  // options.runner.once: leads one term, ships what is durable, releases, returns the
  // runner's result. Busy when lease_wait_micros passed without leading. InvalidArgument
  // before anything else when LOCK_DATABASE_URL does not reach DATABASE_URL's database; an
  // error no retry can fix (PermissionDenied, a cluster this host is not registered in, ...)
  // at once with options.runner.once, else it is logged once and campaigning goes on.
  [[nodiscard]] Status Run();
  // Planned stop, callable from any thread (a signal watcher): ends Run() as described above.
  void RequestStop();

  NodeSnapshot Snapshot() const;
  // Tenants of the current term (empty while following).
  std::vector<TenantReport> Report() const;
  // Tenants of the last finished term (what `ship --once` did).
  std::vector<TenantReport> LastReport() const;
  // Leader: ships `client` now (wakes a tenant waiting for its interval). FailedPrecondition
  // when this node does not lead, NotFound when the tenant has no outbox here.
  [[nodiscard]] Status ShipNow(const std::string& client);

 private:
  void OnLeaseChange(int64_t epoch, const std::string& reason);
  [[nodiscard]] Status CheckLockUrl(Deadline deadline);

  FileSystem* fs_;
  Clock* clock_;
  Logger* logger_;
  ShipNodeOptions options_;
  int64_t started_micros_;
  std::unique_ptr<Lease> lease_;
  std::unique_ptr<LeaseEpochSource> epochs_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mu_;  // runner_ and the wake-up below
  std::condition_variable cv_;
  std::shared_ptr<ShipRunner> runner_;  // the current term's runner (null while following)
  int64_t lease_generation_ = 0;        // bumped by every lease change
  int64_t last_commit_micros_ = 0;      // carried over from finished terms
  std::vector<TenantReport> last_report_;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_SHIP_NODE_H_
