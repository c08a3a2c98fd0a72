// ApiServer: a node's HTTP API (cpp-httplib), served on both nodes of the pair. docs/api.md
// describes every endpoint:
//   GET  /health                          the node itself (200; 503 when PostgreSQL is gone)
//   GET  /api/v1/cluster/status           the pair and its tenants (shipper/cluster_status.h)
//   POST /api/v1/sync/trigger/{client}    leader: 202 + job; follower: 409 + leader's address
//   GET  /api/v1/sync/jobs/{id}           a sync_jobs row
// Reads need no token. Mutating calls need `Authorization: Bearer <token>`, the token being the
// contents of API_TOKEN_FILE (read at Start, whitespace trimmed): a missing or wrong token is
// 401 and a warning naming the remote address and path (never the token); with no token file
// configured they are refused with 403.
//
// Threads: Start() runs the server on its own thread (plus httplib's small worker pool);
// handlers call the node's thread-safe accessors and the shared PostgreSQL session.
#ifndef OWSYNC_SHIPPER_API_SERVER_H_
#define OWSYNC_SHIPPER_API_SERVER_H_

#include <memory>
#include <string>

#include "shipper/node_pg_session.h"
#include "shipper/ship_node.h"
#include "shipper/sync_job_tracker.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/logger.h"
#include "util/status.h"

namespace owsync::shipper {

struct ApiServerOptions {
  std::string bind = "127.0.0.1";  // API_BIND
  int port = 9443;                 // API_PORT; 0 = any free port (see port())
  std::string token_file;          // API_TOKEN_FILE; "" = mutating calls refused (403)
  std::string cluster;             // CLUSTER_NAME
  std::string role;                // ROLE label
  int worker_threads = 4;
};

class ApiServer {
 public:
  // All pointers must outlive the server.
  ApiServer(FileSystem* fs, Clock* clock, Logger* logger, ShipNode* node, NodePgSession* session,
            SyncJobTracker* jobs, ApiServerOptions options);
  ~ApiServer();  // Stop()
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Reads the token file, binds and starts serving. InvalidArgument naming API_TOKEN_FILE when
  // it cannot be read or is empty; Unavailable naming the address when it cannot be bound.
  [[nodiscard]] Status Start();
  // Stops accepting, finishes the requests in flight, joins. Idempotent.
  void Stop();

  // The bound port (after Start).
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_API_SERVER_H_
