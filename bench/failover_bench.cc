// Failover of a host's HA pair (issue 5): how long the cluster ships nothing when its leader
// dies or hangs.
//
// One tenant (Open WebUI v0.11.0, `owsync workload --rate 50` writing, `owsync capture`
// running) and two `owsync ship` nodes (ROLE=primary / secondary, same host and cluster, the
// real binary with its defaults: LEASE_DURATION 10 s, renewal every lease/3, follower retry
// 0.5 s). PostgreSQL records every committed claim and batch with its epoch (a deferred
// trigger: the time is the COMMIT's) and every change of the lease row
// (tests/failover_audit.h). Per round the leader is made to fail at a random moment of its
// work (and of its renewal cycle); times are the server's clock: from clock_timestamp() read
// just before the signal to
//   lease   the new epoch's lease row (the follower took the lease),
//   commit  the first commit with the new epoch (the tenant claimed: the new leader's first
//           commit), and
//   batch   the first batch shipped with the new epoch.
// Modes:
//   kill-fast   SIGKILL, fast path on (advisory lock on DATABASE_URL): goal p99 <= 2 s;
//   kill-lease  SIGKILL, LOCK_DATABASE_URL=none (lease only, as behind a transaction
//               pooler): goal p99 <= lease + 1 s;
//   stop        SIGSTOP (hunting for a moment inside a batch transaction first, the worst
//               case: the new leader must end the frozen batch holding the offset row),
//               SIGCONT once the new leader committed: goal p99 <= lease + 1 s.
// The killed node is restarted (it must come back as the follower); the next round starts
// once the new leader shipped a batch and both nodes campaign. The operators were promised
// failover under 35 s.
//
// Flags: --rounds N (default 20; --quick 5), --lease S (default 10; --quick 3),
// --modes kill-fast,kill-lease,stop (default all).
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bench/ship_bench_util.h"
#include "cli/local_postgres.h"
#include "tests/failover_audit.h"

namespace owsync::bench {
namespace {

using tests::FailoverAudit;
using tests::OffsetLogRow;

constexpr double kPromiseSeconds = 35;

struct Round {
  double lease = -1, commit = -1, batch = -1;
  double old_expiry = 0;  // the old epoch's lease end (its last renewal), from the signal
  bool mid_batch = false;
};

class Pair {
 public:
  Pair(ShipBenchPg* pg, Clock* clock, FailoverAudit* audit, std::string root, std::string dir,
       std::string client, double lease, bool lease_only)
      : pg_(pg),
        clock_(clock),
        audit_(audit),
        root_(std::move(root)),
        dir_(std::move(dir)),
        client_(std::move(client)),
        lease_(lease),
        lease_only_(lease_only) {
    for (int i = 0; i < 2; ++i) {
      role_[i] = i == 0 ? "primary" : "secondary";
      port_[i] = Take(cli::PickFreeLoopbackPort(), "free port");
      Start(i);
    }
  }
  ~Pair() {
    for (auto& p : proc_) {
      if (p.has_value() && p->running()) {
        (void)p->Signal(SIGTERM);
        (void)p->WaitFor(clock_, 30'000'000);
      }
    }
  }

  void Start(int i) {
    std::vector<std::string> env = {"ROLE=" + role_[i], "API_PORT=" + std::to_string(port_[i]),
                                    fmt::format("LEASE_DURATION={}", lease_), "LOG_LEVEL=info"};
    if (lease_only_) env.push_back("LOCK_DATABASE_URL=none");
    proc_[i].emplace(
        pg_->Start({"ship", "--outbox-root", root_}, dir_ + "/ship-" + role_[i] + ".log", env));
  }
  cli::ChildProcess& proc(int i) { return *proc_[i]; }
  const std::string& role(int i) const { return role_[i]; }

  // The lease row: holder's node index (-1: none of ours or expired) and epoch.
  std::pair<int, int64_t> Leader() {
    auto res = audit_->Query(
        "SELECT leader_id, epoch, lease_expires_at > now() FROM sync_metadata.leader_election "
        "WHERE cluster_name = $1",
        {pg_->cluster()});
    if (!res.ok() || res->rows() != 1) return {-1, 0};
    const int pid = FailoverAudit::PidOfNodeId(std::string(res->GetValue(0, 0)));
    const int64_t epoch = std::stoll(std::string(res->GetValue(0, 1)));
    if (res->GetValue(0, 2) != "t") return {-1, epoch};
    for (int i = 0; i < 2; ++i) {
      if (proc_[i].has_value() && proc_[i]->running() && proc_[i]->pid() == pid) return {i, epoch};
    }
    return {-1, epoch};
  }

  // Waits until one node leads, shipped a batch of its epoch after this call began, and the
  // other node campaigns (two lease sessions). Returns the leader's index and epoch.
  std::pair<int, int64_t> WaitReady() {
    auto log = Take(audit_->OffsetLog(client_), "offset log");
    int64_t after = log.empty() ? 0 : log.back().seq;
    const double t0 = NowSeconds(clock_);
    while (NowSeconds(clock_) - t0 < 120) {
      auto [node, epoch] = Leader();
      if (node >= 0) {
        auto rows = Take(audit_->OffsetLog(client_, after), "offset log");
        bool shipped = false;
        for (const OffsetLogRow& r : rows) shipped = shipped || (r.epoch == epoch && r.is_batch());
        auto sessions = audit_->Query(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
            "application_name = 'owsync-lease'");
        if (shipped && sessions.ok() && sessions->GetValue(0, 0) == "2") return {node, epoch};
      }
      clock_->SleepForMicros(50'000);
    }
    Die("no leader shipping with a follower within 120 s; logs in " + dir_);
  }

 private:
  ShipBenchPg* pg_;
  Clock* clock_;
  FailoverAudit* audit_;
  std::string root_, dir_, client_;
  double lease_;
  bool lease_only_;
  std::string role_[2];
  int port_[2] = {0, 0};
  std::optional<cli::ChildProcess> proc_[2];
};

int64_t ServerNow(FailoverAudit* audit) { return Take(audit->ServerNowMicros(), "server time"); }

// True when the tenant's shipper session is inside a transaction (not idle, not absent).
bool InBatch(FailoverAudit* audit, const std::string& client) {
  auto res = audit->Query(
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = "
      "current_database() AND state IN ('active', 'idle in transaction')",
      {"owsync ship " + client});
  return res.ok() && res->GetValue(0, 0) != "0";
}

// Fills `r` from the logs once the first commit above `epoch` appeared (timeout: Die).
void AwaitTakeover(FailoverAudit* audit, Clock* clock, const std::string& client,
                   const std::string& cluster, int64_t epoch, int64_t t0, double timeout,
                   Round* r) {
  const double start = NowSeconds(clock);
  std::optional<OffsetLogRow> first, batch;
  while (NowSeconds(clock) - start < timeout && !batch.has_value()) {
    auto rows = Take(audit->OffsetLog(client), "offset log");
    first = FailoverAudit::FirstAbove(rows, epoch);
    batch = FailoverAudit::FirstAbove(rows, epoch, true);
    if (!batch.has_value()) clock->SleepForMicros(20'000);
  }
  if (!first.has_value() || !batch.has_value()) {
    Die(fmt::format("no commit of an epoch above {} within {:.0f} s", epoch, timeout));
  }
  r->commit = static_cast<double>(first->at_micros - t0) / 1e6;
  r->batch = static_cast<double>(batch->at_micros - t0) / 1e6;
  for (const auto& l : Take(audit->LeaseLog(cluster), "lease log")) {
    if (l.epoch == epoch) r->old_expiry = static_cast<double>(l.expires_micros - t0) / 1e6;
    if (l.epoch > epoch) {
      r->lease = static_cast<double>(l.at_micros - t0) / 1e6;
      break;
    }
  }
}

std::vector<Round> RunMode(const std::string& mode, ShipBenchPg* pg, Clock* clock,
                           FailoverAudit* audit, const std::string& root, const std::string& dir,
                           const std::string& client, double lease, int rounds, Rng* rng) {
  Pair pair(pg, clock, audit, root, dir + "/" + mode, client, lease, mode == "kill-lease");
  std::vector<Round> out;
  for (int round = 0; round < rounds; ++round) {
    auto [victim, epoch] = pair.WaitReady();
    // A random moment of the leader's work and of its renewal cycle (lease / 3).
    clock->SleepForMicros(static_cast<int64_t>(rng->Uniform(1000) * lease / 3 * 1e3));
    Round r;
    if (mode == "stop") {
      const double hunt = NowSeconds(clock);
      while (!InBatch(audit, client) && NowSeconds(clock) - hunt < 3) clock->SleepForMicros(500);
      const int64_t t0 = ServerNow(audit);
      Check(pair.proc(victim).Signal(SIGSTOP), "SIGSTOP");
      clock->SleepForMicros(5'000);
      r.mid_batch = InBatch(audit, client);
      AwaitTakeover(audit, clock, client, pg->cluster(), epoch, t0, lease * 3 + 30, &r);
      Check(pair.proc(victim).Signal(SIGCONT), "SIGCONT");
    } else {
      const int64_t t0 = ServerNow(audit);
      Check(pair.proc(victim).Signal(SIGKILL), "SIGKILL");
      (void)Take(pair.proc(victim).Wait(), "reap");
      AwaitTakeover(audit, clock, client, pg->cluster(), epoch, t0, lease * 3 + 30, &r);
      pair.Start(victim);
    }
    const auto [now_leader, now_epoch] = pair.Leader();
    fmt::print(
        "  {} round {:>2}: {} epoch {} -> {} epoch {}: lease {:.3f} s, first commit {:.3f} "
        "s, first batch {:.3f} s (its lease ran to {:.3f} s){}\n",
        mode, round + 1, pair.role(victim), epoch, now_leader >= 0 ? pair.role(now_leader) : "?",
        now_epoch, r.lease, r.commit, r.batch, r.old_expiry,
        mode == "stop" ? (r.mid_batch ? " (frozen mid-batch)" : " (between batches)") : "");
    out.push_back(r);
  }
  return out;
}

int Main(int argc, char** argv) {
  BenchFlags flags = ParseFlags(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  int rounds = flags.quick ? 5 : 20;
  double lease = flags.quick ? 3 : 10;
  std::string modes_arg = "kill-fast,kill-lease,stop";
  for (size_t i = 0; i + 1 < flags.rest.size(); ++i) {
    if (flags.rest[i] == "--rounds") rounds = std::atoi(flags.rest[i + 1].c_str());
    if (flags.rest[i] == "--lease") lease = std::atof(flags.rest[i + 1].c_str());
    if (flags.rest[i] == "--modes") modes_arg = flags.rest[i + 1];
  }
  std::vector<std::string> modes;
  std::stringstream ms(modes_arg);
  for (std::string m; std::getline(ms, m, ',');) {
    if (m != "kill-fast" && m != "kill-lease" && m != "stop") Die("unknown mode " + m);
    modes.push_back(m);
  }
  if (rounds < 1 || lease < 0.2) Die("--rounds must be >= 1 and --lease >= 0.2");
  auto fs = NewPosixFileSystem();
  auto clock = NewSystemClock();
  auto logger = NewStderrLogger("failover", LogLevel::kWarn);
  fmt::print(
      "failover_bench: {} rounds per mode, LEASE_DURATION {} s (renewal every {:.2f} s, "
      "follower retry 0.5 s){}\n",
      rounds, lease, lease / 3, flags.quick ? " (--quick)" : "");
  ShipBenchPg pg(fs.get(), clock.get(), logger.get());
  fmt::print("  PostgreSQL {} ({})\n  {}\n", pg.ServerVersion(), pg.where(), MachineLine());
  auto dir = Take(ScopedTempDir::Create("owsync-bench-failover-"), "temp dir");
  const std::string client = "bench_failover", db = dir.Child("webui.db");
  const std::string root = dir.Child("outbox");
  pg.Run({"workload", "--db", db, "--init", "--schema", "v0.11.0", "--journal", "wal", "--ops",
          "300", "--seed", "5"},
         dir.Child("init.log"));
  pg.Provision(client, db, dir.Child("provision.log"));
  FailoverAudit audit(clock.get(), pg.admin_url());
  Check(audit.Install(), "install the audit triggers");
  for (const std::string& m : modes) Check(fs->CreateDirs(dir.Child(m)), "mkdir");

  cli::ChildProcess writer =
      pg.Start({"workload", "--db", db, "--rate", "50", "--seed", "6"}, dir.Child("writer.log"));
  cli::ChildProcess capture =
      pg.Start({"capture", "--db", db, "--outbox", root + "/" + client, "--client", client},
               dir.Child("capture.log"));
  for (int i = 0; i < 1200 && !fs->FileExists(root + "/" + client + "/IDENTITY"); ++i) {
    clock->SleepForMicros(50'000);
  }
  Rng rng(17);
  std::map<std::string, std::vector<Round>> results;
  for (const std::string& m : modes) {
    results[m] =
        RunMode(m, &pg, clock.get(), &audit, root, dir.path(), client, lease, rounds, &rng);
  }
  (void)writer.Signal(SIGTERM);
  (void)capture.Signal(SIGTERM);
  (void)writer.WaitFor(clock.get(), 30'000'000);
  (void)capture.WaitFor(clock.get(), 30'000'000);

  {
    std::string w = ReadSmallFile(dir.Child("writer.log"));
    const size_t at = w.rfind("workload: seed=");
    fmt::print("  application: {}\n", at == std::string::npos
                                          ? "(no counts: see writer.log)"
                                          : w.substr(at, w.find('\n', at) - at));
  }
  // Epochs of commits never went back and no epoch committed after its lease ended.
  auto offsets = Take(audit.OffsetLog(client), "offset log");
  auto leases = Take(audit.LeaseLog(pg.cluster()), "lease log");
  auto bad = FailoverAudit::CheckOffsetLog(offsets);
  auto late = FailoverAudit::CheckCommitsWithinLease(offsets, leases);
  int64_t batches = 0;
  for (const OffsetLogRow& r : offsets) batches += r.is_batch() ? 1 : 0;
  fmt::print(
      "  audit: {} commits ({} batches, acked offset {}), {} lease rows; {} offset-log "
      "violations, {} commits after their lease ended{}\n",
      offsets.size(), batches, offsets.empty() ? 0 : offsets.back().new_acked, leases.size(),
      bad.size(), late.size(),
      bad.empty() && late.empty() ? "" : " (first: " + (bad.empty() ? late : bad)[0] + ")");

  fmt::print("\n{:<11} {:<13} {:>4} {:>8} {:>8} {:>8} {:>8} {:>8} {:>16} {:>8} {:>10}\n", "mode",
             "seconds to", "n", "min", "p50", "p90", "p99", "max", "goal", "verdict", "p99/35 s");
  for (const std::string& m : modes) {
    const std::vector<Round>& rs = results[m];
    const double goal = m == "kill-fast" ? 2.0 : lease + 1;
    for (const char* what : {"lease", "first commit", "first batch"}) {
      std::vector<double> v;
      for (const Round& r : rs) {
        v.push_back(std::string(what) == "lease"          ? r.lease
                    : std::string(what) == "first commit" ? r.commit
                                                          : r.batch);
      }
      const bool goal_row = std::string(what) == "first commit";
      const double p99 = Percentile(v, 99);
      fmt::print(
          "{:<11} {:<13} {:>4} {:>8.3f} {:>8.3f} {:>8.3f} {:>8.3f} {:>8.3f} {:>16} {:>8} "
          "{:>10}\n",
          m, what, v.size(), *std::min_element(v.begin(), v.end()), Percentile(v, 50),
          Percentile(v, 90), p99, *std::max_element(v.begin(), v.end()),
          goal_row ? fmt::format("p99 <= {:.1f} s", goal) : "",
          goal_row ? Verdict(p99 <= goal) : "",
          goal_row ? fmt::format("{:.3f}", p99 / kPromiseSeconds) : "");
    }
    if (m == "stop") {
      int mid = 0;
      for (const Round& r : rs) mid += r.mid_batch ? 1 : 0;
      fmt::print("{:<11} {} of {} rounds froze the leader inside a batch transaction\n", "", mid,
                 rs.size());
    }
  }
  fmt::print("  the operators' promise: failover under {:.0f} s\n  {}\n", kPromiseSeconds,
             MachineLine());
  return bad.empty() && late.empty() ? 0 : 1;
}

}  // namespace
}  // namespace owsync::bench

int main(int argc, char** argv) { return owsync::bench::Main(argc, argv); }
