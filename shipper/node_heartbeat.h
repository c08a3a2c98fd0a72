// NodeHeartbeat: a node's row in sync_metadata.cluster_nodes, keyed by (cluster, ROLE label),
// rewritten every interval (at least 1 s) on the node's shared PostgreSQL session: node id,
// host, API address, leading or not, epoch, last_heartbeat = now() (server time), and
// details: the node's settings and, while leading, per-tenant progress from ShipNode::Report()
// (acked and durable offsets, rows, last commit, last error). `owsync status`, the cluster
// status API and a follower's 409 (the leader's address) read it.
//
// A planned stop writes status 'stopped' once more after the thread ends. A failed write is
// logged when heartbeats start failing and when they recover, not on every beat. Threads: one
// of its own between Start and Stop; Beat may be called from any thread.
#ifndef OWSYNC_SHIPPER_NODE_HEARTBEAT_H_
#define OWSYNC_SHIPPER_NODE_HEARTBEAT_H_

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "shipper/node_pg_session.h"
#include "shipper/ship_node.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/logger.h"

namespace owsync::shipper {

struct NodeHeartbeatOptions {
  std::string cluster;
  std::string role;  // ROLE label: primary / secondary
  std::string host_name;
  std::string api_address;              // "host:port" other nodes and `owsync trigger` use
  int64_t interval_micros = 1'000'000;  // raised to 1 s when lower
  int64_t lease_micros = 10'000'000;    // reported in details
  // Outbox root the node ships from: durable watermarks are read there (fresher than the
  // reader's); "" = the reports' durable offsets only.
  std::string outbox_root;
};

class NodeHeartbeat {
 public:
  static constexpr int64_t kMinIntervalMicros = 1'000'000;

  // All pointers must outlive the heartbeat.
  NodeHeartbeat(FileSystem* fs, Clock* clock, Logger* logger, NodePgSession* session,
                ShipNode* node, NodeHeartbeatOptions options);
  ~NodeHeartbeat();  // Stop()
  NodeHeartbeat(const NodeHeartbeat&) = delete;
  NodeHeartbeat& operator=(const NodeHeartbeat&) = delete;

  // Starts the thread: a beat now, then one every interval.
  void Start();
  // Ends the thread and writes status 'stopped' (not leading). Idempotent.
  void Stop();

  // One upsert of the row; `stopped` marks a planned stop.
  [[nodiscard]] Status Beat(bool stopped);
  // The details JSON of the next beat.
  nlohmann::json Details(const NodeSnapshot& snapshot) const;

  int64_t interval_micros() const { return options_.interval_micros; }

 private:
  void Run();

  FileSystem* fs_;
  Clock* clock_;
  Logger* logger_;
  NodePgSession* session_;
  ShipNode* node_;
  NodeHeartbeatOptions options_;

  std::mutex mu_;  // stop_ and the thread's waits
  std::condition_variable cv_;
  bool stop_ = false;
  bool stopped_written_ = false;
  std::thread thread_;
  std::atomic<bool> failing_{false};  // the last beat failed (logged once)
  std::atomic<bool> checked_duplicate_{false};
  std::atomic<bool> wrote_once_{false};
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_NODE_HEARTBEAT_H_
