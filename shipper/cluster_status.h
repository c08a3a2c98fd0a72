// ClusterStatus: the state of a host's HA pair as PostgreSQL records it — the cluster's lease
// row, each node's heartbeat row (sync_metadata.cluster_nodes), and per tenant the acked
// offset, lag, backlog, dead letters and pending conflicts. One query layer for both
// `GET /api/v1/cluster/status` and `owsync status` (which works with both nodes down).
//
// Read as the host's runtime role: row-level security limits it to the role's own cluster and
// tenants. Times are the server's (now() of the query), so the reader's clock does not matter.
#ifndef OWSYNC_SHIPPER_CLUSTER_STATUS_H_
#define OWSYNC_SHIPPER_CLUSTER_STATUS_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "shipper/deadline.h"
#include "shipper/pg_connection.h"
#include "util/result.h"

namespace owsync::shipper {

// "2026-11-26T13:05:00.123Z" (UTC, milliseconds).
std::string FormatIsoUtc(int64_t micros_since_epoch);
// "just now", "42 seconds ago", "2 minutes ago", "3 hours ago", "5 days ago".
std::string FormatAgo(double seconds);

struct LeaseStatus {
  bool present = false;  // the cluster has a lease row
  std::string leader_id;
  int64_t epoch = 0;
  int64_t expires_at_micros = 0;
  bool live = false;  // lease_expires_at > now(): leader_id leads
};

struct NodeStatus {
  std::string role;      // node_role: the ROLE label (primary, secondary)
  bool present = false;  // a heartbeat row exists
  std::string node_id;
  std::string api_address;     // "host:port" of its HTTP API
  bool claims_leader = false;  // is_leader as its last heartbeat said
  int64_t epoch = 0;
  int64_t started_at_micros = 0;
  int64_t last_heartbeat_micros = 0;
  double heartbeat_age_seconds = 0;
  int64_t heartbeat_interval_micros = 0;  // the node's own, from its details
  std::string row_status;                 // 'running' | 'stopped' as written by the node
  // running: heartbeats are fresh; stale: the last one is older than 3 intervals, or it
  // claims to lead while the lease says otherwise; stopped: planned stop; missing: no row.
  std::string state;
  bool leader = false;  // the live lease names this node
  nlohmann::json details = nlohmann::json::object();
};

struct TenantStatus {
  std::string client;
  uint64_t acked_offset = 0;
  int64_t acked_epoch = 0;
  std::optional<int64_t> last_commit_micros;  // tenant_offsets.updated_at (none: never shipped)
  std::optional<uint64_t> durable_offset;     // the outbox's watermark, from the leader
  std::optional<uint64_t> backlog;            // durable - acked records, when known
  // Seconds the tenant is behind: 0 when caught up (backlog 0), else now - last commit;
  // unknown while no leader reports the backlog.
  std::optional<double> lag_seconds;
  int64_t dead_letters = 0;
  int64_t pending_conflicts = 0;
  std::string last_error;  // from the leader's heartbeat ("" = none)
  bool shipping = false;   // the leader runs a shipper for it
};

struct ClusterStatusReport {
  std::string cluster;
  int64_t server_now_micros = 0;
  LeaseStatus lease;
  std::vector<NodeStatus> nodes;  // primary and secondary first, then any other label
  std::vector<TenantStatus> tenants;
  std::optional<int64_t> last_sync_micros;  // newest tenant commit
  int64_t pending_conflicts = 0;
  int64_t dead_letters = 0;

  // The JSON of GET /api/v1/cluster/status (docs/api.md).
  nlohmann::json ToJson() const;
  // The node row of `role`, or null.
  const NodeStatus* Node(const std::string& role) const;
};

class ClusterStatus {
 public:
  // Default heartbeat interval assumed for a node whose details do not say (LEASE_DURATION/3).
  static constexpr int64_t kDefaultHeartbeatMicros = 10'000'000 / 3;

  // Reads everything in one repeatable-read transaction. `cluster` "" = the role's own
  // cluster (sync_metadata.cluster_for_role). NotFound when the role is not a registered host.
  static Result<ClusterStatusReport> Read(PgConnection* conn, const std::string& cluster,
                                          Deadline deadline);

  // The API address ("host:port") the heartbeat row of node `node_id` advertises, "" when
  // unknown.
  static Result<std::string> ApiAddressOf(PgConnection* conn, const std::string& cluster,
                                          const std::string& node_id, Deadline deadline);
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_CLUSTER_STATUS_H_
