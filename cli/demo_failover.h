// DemoFailover: the HA pair of `owsync demo` and the failover it shows. Two `owsync ship` nodes
// of one cluster run as DemoProcesses children "ship-primary" and "ship-secondary": ROLE
// primary / secondary, the same HOST_NAME and CLUSTER_NAME (from the common environment), each
// its own free API_PORT, the demo's short lease and the default advisory-lock fast path
// (LOCK_DATABASE_URL unset: the same URL as DATABASE_URL).
//   Start()       the primary, until the lease row names it; then the secondary (a follower).
//   KillLeader()  finds the leader from the lease row (the pid in its node id), SIGKILLs it and
//                 measures, polling PostgreSQL as the administrator every 20 ms, when the other
//                 node took the lease, claimed the tenant (tenant_offsets.acked_epoch = its
//                 epoch) and committed its first batch (acked_offset advanced under that epoch):
//                 the takeover time.
//   Restart()     starts the killed node again; once it has campaigned (its lease connection
//                 ran a statement) and a few lease retries passed, the lease must not have moved.
//   Stop()        checks the leader is still the new one, stops the follower, then the leader.
// Each step prints what it saw through `say`. Owns one administrator PostgreSQL connection;
// used from the demo's main thread. `tick` is called between polls (the demo's progress line).
#ifndef OWSYNC_CLI_DEMO_FAILOVER_H_
#define OWSYNC_CLI_DEMO_FAILOVER_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli/demo_processes.h"
#include "shipper/pg_connection.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::cli {

struct DemoFailoverOptions {
  std::string admin_url;
  std::string cluster;
  std::string client;
  std::string outbox_root;
  double lease_seconds = 5;  // LEASE_DURATION of both nodes
};

// What the failover did; times are from the SIGKILL (-1 = not seen).
struct DemoFailoverReport {
  std::string old_role;  // "primary" / "secondary"
  pid_t old_pid = 0;
  int64_t old_epoch = 0;
  std::string new_role;
  int64_t new_epoch = 0;
  std::string reason;  // why the new leader acquired the lease (its log line), "" if not found
  int64_t lease_micros = -1;   // the lease row names the new leader
  int64_t claim_micros = -1;   // the tenant's acked_epoch is the new epoch
  int64_t commit_micros = -1;  // its first batch committed: the takeover time
  int64_t acked_at_kill = 0;
  int64_t acked_left = 0;          // the last acked_offset under the old epoch (a COMMIT on
                                   // the wire at the kill may still land)
  int64_t first_commit_acked = 0;  // acked_offset after that first commit
  pid_t restarted_pid = 0;
  bool restarted_follows = false;  // the restarted node campaigned and the lease stayed
  bool stayed_to_end = false;      // the new leader still led when the demo stopped the pair
};

class DemoFailover {
 public:
  using Say = std::function<void(const std::string&)>;
  using Tick = std::function<Status()>;

  // Connects to PostgreSQL as the administrator; `processes` must outlive this.
  static Result<std::unique_ptr<DemoFailover>> Create(FileSystem* fs, Clock* clock,
                                                      DemoProcesses* processes,
                                                      DemoFailoverOptions options, Say say);

  [[nodiscard]] Status Start(const Tick& tick);
  [[nodiscard]] Status KillLeader(const Tick& tick);
  [[nodiscard]] Status Restart(const Tick& tick);
  [[nodiscard]] Status Stop(int64_t grace_micros);

  const DemoFailoverReport& report() const { return report_; }
  // The DemoProcesses name (and log file name) of the node with `role`.
  static std::string NodeName(const std::string& role) { return "ship-" + role; }

 private:
  struct Node {
    std::string role;
    std::vector<std::string> env;  // ROLE, API_PORT
  };
  struct LeaseRow {
    std::string leader_id;
    int64_t epoch = 0;
    int64_t acked_epoch = 0;
    int64_t acked_offset = 0;
  };

  DemoFailover(FileSystem* fs, Clock* clock, DemoProcesses* processes, DemoFailoverOptions options,
               Say say, shipper::PgConnection conn)
      : fs_(fs),
        clock_(clock),
        processes_(processes),
        options_(std::move(options)),
        say_(std::move(say)),
        conn_(std::move(conn)) {}

  Result<LeaseRow> ReadLease();
  // The role ("primary"/"secondary") whose running child has the pid in `leader_id`, "" if
  // none of ours does.
  std::string RoleOf(const std::string& leader_id) const;
  Status StartNode(const Node& node);
  // Why the node acquired `epoch`, from its log ("" when the line is not there).
  std::string AcquireReason(const std::string& role, int64_t epoch) const;
  // Polls (tick in between) until `done` returns true; Internal naming `what` after timeout.
  Status PollUntil(const std::string& what, int64_t timeout_micros, const Tick& tick,
                   const std::function<Result<bool>()>& done);

  FileSystem* fs_;
  Clock* clock_;
  DemoProcesses* processes_;
  DemoFailoverOptions options_;
  Say say_;
  shipper::PgConnection conn_;
  std::vector<Node> nodes_;    // primary, secondary
  std::string new_leader_id_;  // the lease holder after the takeover
  DemoFailoverReport report_;
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_DEMO_FAILOVER_H_
