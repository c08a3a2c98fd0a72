// HA failover tests (issue 5): two real `owsync ship` processes of one host (ROLE=primary and
// ROLE=secondary, lease 2 s) ship one tenant while the application writes (`owsync workload`)
// and `owsync capture` runs; the leader is then made to fail, each scenario its own test:
//  - SIGKILL: the follower commits with a new epoch within the fast path's bound (5 s here;
//    bench/failover_bench.cc measures it); the restarted node stays a follower (no flapping);
//  - SIGSTOP, preferably mid-batch, for longer than the lease, then SIGCONT: the other node
//    took over while it was frozen, and the frozen one commits nothing after losing the lease;
//  - cut off from PostgreSQL: each node through its own session-mode pgbouncer; the leader's
//    pgbouncer frozen (SIGSTOP) or killed (SIGKILL): takeover within lease + 1 s + margin;
//  - its PostgreSQL connections terminated (pg_terminate_backend of every backend whose
//    client port is one of the leader process's sockets): it re-establishes or steps down
//    cleanly, and shipping continues;
//  - SIGKILL and SIGSTOP again through one pgbouncer in transaction mode with
//    LOCK_DATABASE_URL=none (lease only): takeover within lease + 1 s + margin.
// PostgreSQL records every committed claim and batch with its epoch and every lease row change
// (tests/failover_audit.h). After each scenario (FailoverFixture::Finish): `verify` equal, no
// row version went back, the acked offset never decreased, the epochs of commits never
// decreased, and no epoch committed after its lease ended.
//
// Size: `--rounds N` failovers per scenario (default 1; or OWSYNC_FAILOVER_ROUNDS), `--seed S`.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "tests/failover_fixture.h"
#include "tests/shipper_phase_probe.h"

namespace owsync::tests {
namespace {

// Slack on a 2-core machine running sanitizer builds in parallel.
constexpr double kMarginSeconds = 1.5;
constexpr double kFastPathBoundSeconds = 5;

std::string Stats(std::vector<double> v) {
  if (v.empty()) return "-";
  std::sort(v.begin(), v.end());
  char buf[96];
  std::snprintf(buf, sizeof buf, "min %.2f s, median %.2f s, max %.2f s (n=%zu)", v.front(),
                v[v.size() / 2], v.back(), v.size());
  return buf;
}

// Where a frozen leader's tenant session was while it stood still.
struct Freeze {
  int64_t at = 0;  // server time just before SIGSTOP
  bool mid_batch = false;
  int backend_pid = 0;
  std::string phase;
  int attempts = 0;
};

class FailoverTest : public FailoverFixture {
 protected:
  // One row of pg_stat_activity for the tenant's shipper session (the newest).
  bool SampleSession(int* pid, ShipperPhase* phase, const std::string& only_pid = "") {
    auto res = audit_->Query(
        "SELECT pid, COALESCE(state, ''), left(COALESCE(query, ''), 80) FROM pg_stat_activity "
        "WHERE application_name = $1 AND datname = current_database() AND ($2 = '' OR pid = "
        "$2::int) ORDER BY backend_start DESC LIMIT 1",
        {"owsync ship " + client_, only_pid});
    if (!res.ok() || res->rows() == 0) return false;
    *pid = std::stoi(std::string(res->GetValue(0, 0)));
    *phase = ShipperPhaseProbe::Classify(std::string(res->GetValue(0, 1)),
                                         std::string(res->GetValue(0, 2)));
    return true;
  }
  static bool InBatch(ShipperPhase p) {
    return p != ShipperPhase::kNoSession && p != ShipperPhase::kIdle;
  }

  // SIGSTOPs node i, preferably while its session is inside a batch transaction (confirmed
  // while frozen, as tests/shipper_phase_probe.h does); after `hunt_micros` wherever it is.
  Freeze FreezeNode(int i, int64_t hunt_micros) {
    Freeze f;
    const int64_t end = clock()->MonotonicMicros() + hunt_micros;
    while (clock()->MonotonicMicros() < end) {
      int pid = 0;
      ShipperPhase phase;
      if (SampleSession(&pid, &phase) && InBatch(phase)) {
        ++f.attempts;
        f.at = ServerNow();
        SignalNode(i, SIGSTOP);
        Sleep(5'000);
        ShipperPhase frozen;
        if (SampleSession(&pid, &frozen, std::to_string(pid)) && InBatch(frozen)) {
          f.mid_batch = true;
          f.backend_pid = pid;
          f.phase = ShipperPhaseName(frozen);
          return f;
        }
        SignalNode(i, SIGCONT);
      }
      Sleep(1'000);
    }
    ++f.attempts;
    f.at = ServerNow();
    SignalNode(i, SIGSTOP);
    f.phase = "between batches (hunt timed out)";
    return f;
  }

  // Rounds of SIGKILL of the leader; the takeover (first commit of a new epoch) must come
  // within `bound` seconds of the kill.
  void KillRounds(double bound) {
    std::vector<double> takeovers, batches;
    for (int round = 0; round < flags_.rounds; ++round) {
      LeaseState before = WaitForLeaderShipping();
      ASSERT_GE(before.node, 0) << "round " << round;
      const int victim = before.node;
      Sleep(rng_->Range(0, 1'000'000));  // anywhere in the leader's work
      const int64_t kill_at = ServerNow();
      ASSERT_NO_FATAL_FAILURE(KillNode(victim));
      auto first = WaitForCommitAbove(before.epoch, 30 * kSecond);
      ASSERT_TRUE(first.has_value()) << "round " << round << ": no commit of a new epoch within "
                                     << "30 s of killing " << nodes_[victim].role;
      auto batch = WaitForCommitAbove(before.epoch, 30 * kSecond, /*batch_only=*/true);
      ASSERT_TRUE(batch.has_value()) << "round " << round << ": no batch of the new epoch";
      const double took = static_cast<double>(first->at_micros - kill_at) / 1e6;
      const double shipped = static_cast<double>(batch->at_micros - kill_at) / 1e6;
      takeovers.push_back(took);
      batches.push_back(shipped);
      EXPECT_LE(took, bound) << "round " << round << ": takeover too slow";
      LeaseState after = Lease();
      EXPECT_EQ(after.node, 1 - victim) << "round " << round << ": " << after.leader_id;
      EXPECT_EQ(after.epoch, first->epoch);
      std::printf(
          "[ failover ] round %d: SIGKILL %s (epoch %lld) -> %s epoch %lld: first commit "
          "%.3f s, first batch %.3f s after the kill\n",
          round + 1, nodes_[victim].role.c_str(), static_cast<long long>(before.epoch),
          after.node >= 0 ? nodes_[after.node].role.c_str() : "?",
          static_cast<long long>(first->epoch), took, shipped);
      // The restarted node follows; leadership stays where it is.
      ASSERT_NO_FATAL_FAILURE(StartNode(victim));
      ASSERT_NO_FATAL_FAILURE(
          ExpectNoFlapping(after, static_cast<int64_t>((2 * lease_seconds() + 1) * 1e6)));
    }
    std::printf("[ failover ] takeover after SIGKILL: %s; first batch: %s (bound %.1f s)\n",
                Stats(takeovers).c_str(), Stats(batches).c_str(), bound);
  }

  // Rounds of SIGSTOP of the leader for lease + 3 s, then SIGCONT.
  void FreezeRounds() {
    const double bound = lease_seconds() + 1 + kMarginSeconds;
    std::vector<double> takeovers;
    int mid_batch = 0;
    for (int round = 0; round < flags_.rounds; ++round) {
      LeaseState before = WaitForLeaderShipping();
      ASSERT_GE(before.node, 0) << "round " << round;
      const int victim = before.node;
      Freeze f = FreezeNode(victim, 5 * kSecond);
      mid_batch += f.mid_batch ? 1 : 0;
      Sleep(static_cast<int64_t>((lease_seconds() + 3) * 1e6));
      auto first = WaitForCommitAbove(before.epoch, 0);
      const int64_t resumed_at = ServerNow();
      bool backend_left = false;
      if (f.mid_batch) {
        auto res = audit_->Query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int",
                                 {std::to_string(f.backend_pid)});
        backend_left = res.ok() && res->GetValue(0, 0) != "0";
      }
      SignalNode(victim, SIGCONT);
      ASSERT_TRUE(first.has_value()) << "round " << round << ": nobody took over while "
                                     << nodes_[victim].role << " was frozen";
      const double took = static_cast<double>(first->at_micros - f.at) / 1e6;
      takeovers.push_back(took);
      EXPECT_LT(first->at_micros, resumed_at);
      EXPECT_LE(took, bound) << "round " << round << ": takeover too slow";
      LeaseState after = Lease();
      EXPECT_EQ(after.node, 1 - victim) << "round " << round << ": " << after.leader_id;
      std::printf(
          "[ failover ] round %d: SIGSTOP %s (epoch %lld) %s [%s, %d attempts] -> %s epoch "
          "%lld committed %.3f s after the freeze%s\n",
          round + 1, nodes_[victim].role.c_str(), static_cast<long long>(before.epoch),
          f.mid_batch ? "mid-batch" : "not mid-batch", f.phase.c_str(), f.attempts,
          after.node >= 0 ? nodes_[after.node].role.c_str() : "?",
          static_cast<long long>(first->epoch), took,
          f.mid_batch ? (backend_left ? "; its batch's backend still there at SIGCONT"
                                      : "; its batch's backend was ended")
                      : "");
      // The resumed node follows and commits nothing more.
      ASSERT_NO_FATAL_FAILURE(
          ExpectNoFlapping(after, static_cast<int64_t>((2 * lease_seconds() + 1) * 1e6)));
      auto rows = audit_->OffsetLog(client_, first->seq);
      ASSERT_TRUE(rows.ok()) << rows.status().ToString();
      for (const OffsetLogRow& r : *rows) {
        EXPECT_GE(r.epoch, first->epoch)
            << "seq " << r.seq << ": epoch " << r.epoch << " committed after the takeover";
      }
      EXPECT_NE(NodeLog(victim).find("stepped down from epoch " + std::to_string(before.epoch)),
                std::string::npos)
          << nodes_[victim].role << " did not log stepping down from epoch " << before.epoch;
    }
    std::printf("[ failover ] takeover after SIGSTOP: %s (bound %.1f s); %d of %d mid-batch\n",
                Stats(takeovers).c_str(), bound, mid_batch, flags_.rounds);
  }
};

class FailoverPoolerTest : public FailoverTest {
 protected:
  bool UsePgBouncer() const override { return true; }
};

TEST_F(FailoverTest, KilledLeaderIsReplacedWithinTheFastPathBoundAndStaysReplaced) {
  ASSERT_NO_FATAL_FAILURE(StartScenario({}, 0));
  ASSERT_NO_FATAL_FAILURE(KillRounds(kFastPathBoundSeconds));
  ASSERT_NO_FATAL_FAILURE(Finish());
}

TEST_F(FailoverTest, FrozenLeaderIsReplacedAndCommitsNothingAfterLosingTheLease) {
  ASSERT_NO_FATAL_FAILURE(StartScenario({}, 1));
  ASSERT_NO_FATAL_FAILURE(FreezeRounds());
  ASSERT_NO_FATAL_FAILURE(Finish());
}

TEST_F(FailoverTest, LeaderCutOffByItsPgBouncerIsReplacedAndNothingGoesBack) {
  FailoverSetup setup;
  setup.own_bouncers = true;
  ASSERT_NO_FATAL_FAILURE(StartScenario(setup, 2));
  const double bound = lease_seconds() + 1 + kMarginSeconds;
  std::vector<double> paused, killed;
  for (int round = 0; round < flags_.rounds; ++round) {
    const bool kill_first = rng_->Chance(0.5);
    for (bool kill : {kill_first, !kill_first}) {
      LeaseState before = WaitForLeaderShipping();
      ASSERT_GE(before.node, 0) << "round " << round;
      const int victim = before.node;
      cli::LocalPgBouncer* bouncer = nodes_[victim].bouncer.get();
      Sleep(rng_->Range(0, 1'000'000));
      const int64_t cut_at = ServerNow();
      Status cut = kill ? bouncer->Kill() : bouncer->Pause();
      ASSERT_TRUE(cut.ok()) << cut.ToString();
      auto first = WaitForCommitAbove(before.epoch, 30 * kSecond);
      ASSERT_TRUE(first.has_value()) << "round " << round << ": nobody took over within 30 s";
      auto batch = WaitForCommitAbove(before.epoch, 30 * kSecond, /*batch_only=*/true);
      ASSERT_TRUE(batch.has_value()) << "round " << round << ": no batch of the new epoch";
      const double took = static_cast<double>(first->at_micros - cut_at) / 1e6;
      (kill ? killed : paused).push_back(took);
      EXPECT_LE(took, bound) << "round " << round << ": takeover too slow";
      LeaseState after = Lease();
      EXPECT_EQ(after.node, 1 - victim) << "round " << round << ": " << after.leader_id;
      Status back = kill ? bouncer->Restart() : bouncer->Resume();
      ASSERT_TRUE(back.ok()) << back.ToString();
      std::printf(
          "[ failover ] round %d: %s's pgbouncer %s (epoch %lld) -> %s epoch %lld committed "
          "%.3f s later\n",
          round + 1, nodes_[victim].role.c_str(), kill ? "killed" : "frozen",
          static_cast<long long>(before.epoch),
          after.node >= 0 ? nodes_[after.node].role.c_str() : "?",
          static_cast<long long>(first->epoch), took);
      ASSERT_NO_FATAL_FAILURE(
          ExpectNoFlapping(after, static_cast<int64_t>((2 * lease_seconds() + 1) * 1e6)));
    }
  }
  std::printf(
      "[ failover ] takeover after the leader's pgbouncer froze: %s; was killed: %s "
      "(bound %.1f s)\n",
      Stats(paused).c_str(), Stats(killed).c_str(), bound);
  ASSERT_NO_FATAL_FAILURE(Finish());
}

TEST_F(FailoverTest, LeaderWhoseConnectionsAreTerminatedRecoversOrStepsDownCleanly) {
  ASSERT_NO_FATAL_FAILURE(StartScenario({}, 3));
  std::vector<double> resumed;
  int stepped_down = 0;
  for (int round = 0; round < flags_.rounds; ++round) {
    LeaseState before = WaitForLeaderShipping();
    ASSERT_GE(before.node, 0) << "round " << round;
    const int victim = before.node;
    Sleep(rng_->Range(0, 1'000'000));
    std::set<int> ports = TcpPortsOf(NodePid(victim));
    ASSERT_FALSE(ports.empty()) << nodes_[victim].role << " has no TCP socket";
    std::string list;
    for (int p : ports) list += (list.empty() ? "" : ",") + std::to_string(p);
    auto log = audit_->OffsetLog(client_);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    const int64_t last_seq = log->empty() ? 0 : log->back().seq;
    const int64_t cut_at = ServerNow();
    auto killed = audit_->Query(
        // Materialized first: in one WHERE clause PostgreSQL may call pg_terminate_backend on
        // rows the other conditions would have dropped.
        "WITH v AS MATERIALIZED (SELECT pid, application_name FROM pg_stat_activity WHERE "
        "datname = current_database() AND client_port = ANY($1::int[]) AND pid <> "
        "pg_backend_pid()) SELECT application_name FROM v WHERE pg_terminate_backend(pid) "
        "ORDER BY 1",
        {"{" + list + "}"});
    ASSERT_TRUE(killed.ok()) << killed.status().ToString();
    std::string names;
    bool lease = false, data = false;
    for (int r = 0; r < killed->rows(); ++r) {
      const std::string name(killed->GetValue(r, 0));
      names += (names.empty() ? "" : ", ") + name;
      lease = lease || name == "owsync-lease";
      data = data || name.rfind("owsync ship ", 0) == 0;
    }
    EXPECT_TRUE(lease && data) << "terminated only: " << names;
    const int64_t cut_done = ServerNow();
    // Let it settle (the follower may take over at once by the fast path, the leader notices
    // by its next renewal at the latest), then: one node leads and ships.
    Sleep(static_cast<int64_t>((lease_seconds() + 1) * 1e6));
    LeaseState after = WaitForLeaderShipping(30 * kSecond);
    ASSERT_GE(after.node, 0) << "round " << round << ": nobody leads and ships";
    // Shipping went on: the first batch committed after the cut, by whichever node.
    auto rows = audit_->OffsetLog(client_, last_seq);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    std::optional<OffsetLogRow> next;
    for (const OffsetLogRow& r : *rows) {
      if (r.is_batch() && r.at_micros > cut_done) {
        next = r;
        break;
      }
    }
    ASSERT_TRUE(next.has_value());
    const double took = static_cast<double>(next->at_micros - cut_at) / 1e6;
    resumed.push_back(took);
    EXPECT_LE(took, lease_seconds() + 1 + kMarginSeconds) << "round " << round;
    const bool changed = after.epoch != before.epoch;
    stepped_down += changed ? 1 : 0;
    std::printf(
        "[ failover ] round %d: terminated %s's backends (%s) -> %s; a batch committed "
        "%.3f s later (epoch %lld)\n",
        round + 1, nodes_[victim].role.c_str(), names.c_str(),
        changed ? ("it stepped down, " + nodes_[after.node].role + " leads with epoch " +
                   std::to_string(after.epoch))
                      .c_str()
                : "it re-established its sessions and leads on",
        took, static_cast<long long>(next->epoch));
    if (changed) {
      EXPECT_NE(NodeLog(victim).find("stepped down from epoch " + std::to_string(before.epoch)),
                std::string::npos)
          << nodes_[victim].role << " did not log stepping down from epoch " << before.epoch;
    }
    ASSERT_NO_FATAL_FAILURE(
        ExpectNoFlapping(after, static_cast<int64_t>((2 * lease_seconds() + 1) * 1e6)));
  }
  std::printf(
      "[ failover ] shipping again after the leader's backends were terminated: %s; "
      "%d of %d rounds changed leader\n",
      Stats(resumed).c_str(), stepped_down, flags_.rounds);
  ASSERT_NO_FATAL_FAILURE(Finish());
}

TEST_F(FailoverPoolerTest, KilledLeaderIsReplacedWithinLeasePlusOneSecond) {
  FailoverSetup setup;
  setup.lease_only = true;
  ASSERT_NO_FATAL_FAILURE(StartScenario(setup, 4));
  ASSERT_NO_FATAL_FAILURE(KillRounds(lease_seconds() + 1 + kMarginSeconds));
  ASSERT_NO_FATAL_FAILURE(Finish());
}

TEST_F(FailoverPoolerTest, FrozenLeaderIsReplacedAndCommitsNothingAfterLosingTheLease) {
  FailoverSetup setup;
  setup.lease_only = true;
  ASSERT_NO_FATAL_FAILURE(StartScenario(setup, 5));
  ASSERT_NO_FATAL_FAILURE(FreezeRounds());
  ASSERT_NO_FATAL_FAILURE(Finish());
}

}  // namespace
}  // namespace owsync::tests
