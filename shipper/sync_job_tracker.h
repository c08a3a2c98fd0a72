// SyncJobTracker: manual syncs (`POST /api/v1/sync/trigger/{client}`, `owsync trigger`) as
// rows of sync_metadata.sync_jobs. On the leader, Trigger() wakes the tenant's shipper
// (ShipNode::ShipNow), records the tenant outbox's durable watermark at that moment as the
// job's target, and inserts the job (status running, sync_type manual, triggered_by 'api').
// A thread then watches the tenant: the job turns success (completed_at, rows_synced) once the
// acked offset reaches the target, or failed with error_message when the tenant stopped with
// an error, this node stopped leading, or the node stopped. Jobs live in this process only: a
// job of a node that crashed stays 'running' in the table.
//
// Threads: one of its own between Start and Stop; Trigger and Poll from any thread.
#ifndef OWSYNC_SHIPPER_SYNC_JOB_TRACKER_H_
#define OWSYNC_SHIPPER_SYNC_JOB_TRACKER_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "shipper/node_pg_session.h"
#include "shipper/ship_node.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/logger.h"
#include "util/result.h"

namespace owsync::shipper {

struct SyncJobTrackerOptions {
  std::string outbox_root;  // where DIR/<client> outboxes are ("" = the reports' watermarks)
  int64_t poll_micros = 250'000;
  // A stopped tenant that was woken must be running again within this, or the job fails.
  int64_t restart_grace_micros = 5'000'000;
};

class SyncJobTracker {
 public:
  // All pointers must outlive the tracker.
  SyncJobTracker(FileSystem* fs, Clock* clock, Logger* logger, NodePgSession* session,
                 ShipNode* node, SyncJobTrackerOptions options);
  ~SyncJobTracker();  // Stop()
  SyncJobTracker(const SyncJobTracker&) = delete;
  SyncJobTracker& operator=(const SyncJobTracker&) = delete;

  void Start();
  // Ends the thread; jobs still running are marked failed ("the node stopped"). Idempotent.
  void Stop();

  // Starts a manual sync of `client`; returns the job id (uuid). FailedPrecondition when this
  // node does not lead; NotFound when the tenant has no outbox here or is not registered to
  // this host; InvalidArgument for a name that cannot be a client; PostgreSQL's errors.
  Result<std::string> Trigger(const std::string& client);

  // The sync_jobs row `job_id` as JSON (docs/api.md); NotFound when there is none (or it is
  // another host's); InvalidArgument when `job_id` is not a uuid.
  Result<nlohmann::json> Job(const std::string& job_id);

  // Settles every job whose outcome is known (the thread calls it every poll).
  void Poll();
  size_t running_jobs() const;

 private:
  struct Pending {
    std::string id;
    std::string client;
    uint64_t target = 0;        // durable watermark at trigger time
    int64_t rows_at_start = 0;  // progress.rows of the shipper then
    int64_t starts_at_start = 0;
    bool was_stopped = false;  // the tenant was stopped (woken by a restart)
    int64_t triggered_monotonic = 0;
  };
  // Sets the job's final state; false when PostgreSQL could not be told (retried later).
  bool Finish(const Pending& job, bool success, int64_t rows, uint64_t acked,
              const std::string& error);
  void Run();

  FileSystem* fs_;
  Clock* clock_;
  Logger* logger_;
  NodePgSession* session_;
  ShipNode* node_;
  SyncJobTrackerOptions options_;

  mutable std::mutex mu_;  // jobs_, stop_
  std::condition_variable cv_;
  std::vector<Pending> jobs_;
  bool stop_ = false;
  bool stopped_ = false;
  std::thread thread_;
  std::mutex poll_mu_;  // one Poll at a time
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_SYNC_JOB_TRACKER_H_
