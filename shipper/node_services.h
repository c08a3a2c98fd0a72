// NodeServices: what an `owsync ship` node runs beside shipping — the HTTP API
// (shipper/api_server.h), the heartbeat row in sync_metadata.cluster_nodes
// (shipper/node_heartbeat.h) and the manual-sync job tracker (shipper/sync_job_tracker.h) —
// on one shared PostgreSQL session (application_name `owsync-node`) as the host's runtime role.
//
// The ship command creates it around ShipNode::Run():
//   NodeServices services(fs, clock, logger, config, outbox_root, &node);
//   if (Status s = services.Start(); !s.ok()) return Fail("ship", s);
//   ... node.Run() ...;  services.Stop();
// Start fails (and starts nothing) when the API cannot listen or the token file cannot be
// read. Stop records the planned stop in the heartbeat row; call it after the node released
// its lease.
#ifndef OWSYNC_SHIPPER_NODE_SERVICES_H_
#define OWSYNC_SHIPPER_NODE_SERVICES_H_

#include <memory>
#include <string>

#include "shipper/api_server.h"
#include "shipper/node_heartbeat.h"
#include "shipper/node_pg_session.h"
#include "shipper/ship_config.h"
#include "shipper/ship_node.h"
#include "shipper/sync_job_tracker.h"

namespace owsync::shipper {

class NodeServices {
 public:
  // All pointers must outlive the services. `outbox_root` is the node's --outbox-root.
  NodeServices(FileSystem* fs, Clock* clock, Logger* logger, const ShipConfig& config,
               std::string outbox_root, ShipNode* node);
  ~NodeServices();  // Stop()
  NodeServices(const NodeServices&) = delete;
  NodeServices& operator=(const NodeServices&) = delete;

  [[nodiscard]] Status Start();
  void Stop();

  // The address other nodes and `owsync trigger` reach this node's API at: API_BIND (or
  // HOST_NAME when it binds every address) and the bound port.
  std::string api_address() const;
  int api_port() const { return api_.port(); }
  NodeHeartbeat* heartbeat() { return heartbeat_.get(); }  // null before Start
  SyncJobTracker& jobs() { return jobs_; }

 private:
  FileSystem* fs_;
  Clock* clock_;
  Logger* logger_;
  ShipConfig config_;
  std::string outbox_root_;
  ShipNode* node_;
  NodePgSession session_;
  SyncJobTracker jobs_;
  ApiServer api_;
  std::unique_ptr<NodeHeartbeat> heartbeat_;  // made once the API's port is known
  bool started_ = false;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_NODE_SERVICES_H_
