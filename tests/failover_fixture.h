// FailoverFixture: one tenant shipped by a host's HA pair, for the failover tests
// (tests/failover_pg_test.cc). On top of ShipTestFixture (a test database, a host, the
// tenant's SQLite database) it runs, as real child processes: the application (`owsync
// workload --rate`), continuous `owsync capture`, and TWO `owsync ship` nodes (ROLE=primary and
// ROLE=secondary, each with a free API_PORT, the same HOST_NAME/CLUSTER_NAME, a short lease),
// each optionally through its own session-mode pgbouncer (DATABASE_URL and LOCK_DATABASE_URL),
// or both through the fixture's transaction-mode pgbouncer with LOCK_DATABASE_URL=none (lease
// only). PostgreSQL records what was committed (tests/failover_audit.h) and the acked offset is
// sampled throughout (tests/acked_offset_monitor.h).
//
// The leader is read from sync_metadata.leader_election: the 3rd ':' field of leader_id is
// the pid of its `owsync ship` process. Finish() quiesces and checks everything a scenario
// must leave behind (see there). Times are the server's clock unless named otherwise.
#ifndef OWSYNC_TESTS_FAILOVER_FIXTURE_H_
#define OWSYNC_TESTS_FAILOVER_FIXTURE_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "cli/child_process.h"
#include "cli/local_pgbouncer.h"
#include "cli/workload_random.h"
#include "tests/acked_offset_monitor.h"
#include "tests/failover_audit.h"
#include "tests/failover_flags.h"
#include "tests/ship_test_fixture.h"

namespace owsync::tests {

struct FailoverSetup {
  double lease_seconds = 2;
  bool own_bouncers = false;  // each node through its own session-mode pgbouncer
  bool lease_only = false;    // LOCK_DATABASE_URL=none (no advisory-lock fast path)
  const char* schema = "v0.11.0";
  int rate = 50;  // application transactions per second
};

// The lease row as the administrator sees it now.
struct LeaseState {
  std::string leader_id;
  int64_t epoch = 0;
  bool live = false;  // lease_expires_at > now()
  int node = -1;      // index of the node whose pid is in leader_id, -1 when none of ours
};

class FailoverFixture : public ShipTestFixture {
 protected:
  static constexpr int64_t kSecond = 1'000'000;

  void TearDown() override;

  // Creates, provisions and starts everything; both nodes started, the leader shipping.
  // `index` makes the seed differ per test.
  void StartScenario(const FailoverSetup& setup, int index);
  // Quiesces and checks: writer stopped, capture drained, the leader caught up; before a
  // re-snapshot only rows the application's INSERT OR REPLACE deleted unseen differ; after it
  // `owsync verify` is equal; no row version went back (detector proved live); the acked
  // offset never decreased; the offset log's epochs and offsets never decreased and no epoch
  // committed after its lease ended; both nodes stop on SIGTERM with exit 0.
  void Finish();

  LeaseState Lease();
  // Waits until the lease is live, held by one of our nodes, and that node committed a batch
  // with the lease's epoch after this call began.
  LeaseState WaitForLeaderShipping(int64_t timeout_micros = 60 * kSecond);
  // The first committed claim or batch with an epoch above `epoch` (polled every 20 ms).
  std::optional<OffsetLogRow> WaitForCommitAbove(int64_t epoch, int64_t timeout_micros,
                                                 bool batch_only = false);
  // Fails the test if the lease's holder or epoch changes within `micros`, or a node exits.
  void ExpectNoFlapping(const LeaseState& expected, int64_t micros);

  void StartNode(int i);
  void SignalNode(int i, int sig);
  // SIGKILL and reap.
  void KillNode(int i);
  // SIGTERM, then the exit code (reaped within 60 s).
  int StopNode(int i);
  bool NodeRunning(int i);
  pid_t NodePid(int i) const;
  std::string NodeLog(int i) const;  // the whole log of node i

  // Local TCP ports of `pid`'s sockets (from /proc): its connections' client ports as
  // PostgreSQL's pg_stat_activity.client_port shows them.
  std::set<int> TcpPortsOf(pid_t pid);

  double lease_seconds() const { return setup_.lease_seconds; }
  void Sleep(int64_t micros) { clock()->SleepForMicros(micros); }
  Clock* clock() { return env_->clock(); }
  int64_t ServerNow();
  std::string Logs();

  struct Node {
    std::string role;
    int api_port = 0;
    std::string log;
    std::map<std::string, std::string> env;
    std::optional<cli::ChildProcess> process;
    std::unique_ptr<cli::LocalPgBouncer> bouncer;  // own_bouncers only
  };

  FailoverFlags flags_;
  FailoverSetup setup_;
  uint64_t seed_ = 0;
  std::optional<cli::WorkloadRandom> rng_;
  Node nodes_[2];
  std::optional<cli::ChildProcess> writer_, capture_;
  std::unique_ptr<FailoverAudit> audit_;
  std::unique_ptr<AckedOffsetMonitor> monitor_;
  int64_t started_micros_ = 0;

 private:
  void StopChild(std::optional<cli::ChildProcess>* child, const std::string& what);
  std::string LogTail(const std::string& name, size_t bytes = 6000);
};

}  // namespace owsync::tests

#endif  // OWSYNC_TESTS_FAILOVER_FIXTURE_H_
