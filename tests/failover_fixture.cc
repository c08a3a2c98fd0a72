#include "tests/failover_fixture.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "cli/local_postgres.h"
#include "cli/verifier.h"
#include "cli/workload_generator.h"
#include "shipper/pg_url.h"
#include "shipper/record_key.h"

namespace owsync::tests {
namespace {

std::string SecondsText(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

}  // namespace

void FailoverFixture::TearDown() {
  if (HasFailure() && dir_.has_value()) std::printf("%s\n", Logs().c_str());
  if (monitor_) monitor_->Stop();
  writer_.reset();  // SIGKILL and reap whatever still runs
  capture_.reset();
  for (Node& n : nodes_) n.process.reset();
  for (Node& n : nodes_) n.bouncer.reset();
  audit_.reset();
  ShipTestFixture::TearDown();
}

std::string FailoverFixture::LogTail(const std::string& name, size_t bytes) {
  auto text = ReadFileToString(env_->fs(), dir_->Child(name));
  if (!text.ok()) return "(no " + name + ")";
  return "\n--- " + name + " (tail) ---\n" +
         (text->size() > bytes ? text->substr(text->size() - bytes) : *text);
}

std::string FailoverFixture::Logs() {
  std::string out;
  for (const Node& n : nodes_) {
    if (!n.log.empty()) out += LogTail(n.log);
  }
  return out + LogTail("capture.log", 2000) + LogTail("writer.log", 2000);
}

std::string FailoverFixture::NodeLog(int i) const {
  auto text = ReadFileToString(env_->fs(), dir_->Child(nodes_[i].log));
  return text.ok() ? *text : "";
}

int64_t FailoverFixture::ServerNow() {
  auto now = audit_->ServerNowMicros();
  EXPECT_TRUE(now.ok()) << now.status().ToString();
  return now.ok() ? *now : 0;
}

void FailoverFixture::StartScenario(const FailoverSetup& setup, int index) {
  setup_ = setup;
  auto flags = FailoverFlags::FromProcess(env_->fs());
  ASSERT_TRUE(flags.ok()) << flags.status().ToString();
  flags_ = *flags;
  seed_ = flags_.seed * 10 + static_cast<uint64_t>(index);
  rng_.emplace(seed_);
  started_micros_ = clock()->MonotonicMicros();
  std::printf("[ failover ] %s, seed %llu, lease %g s%s%s, directory %s\n",
              flags_.ToString().c_str(), static_cast<unsigned long long>(seed_),
              setup.lease_seconds, setup.own_bouncers ? ", a session pgbouncer per node" : "",
              setup.lease_only ? ", LOCK_DATABASE_URL=none" : "", dir_->path().c_str());

  CliRun init = Owsync({"workload", "--db", db_path(), "--init", "--schema", setup.schema,
                        "--journal", "wal", "--ops", "300", "--seed", std::to_string(seed_)});
  ASSERT_EQ(init.exit_code, 0) << init.out;
  CliRun prov = Provision();
  ASSERT_EQ(prov.exit_code, 0) << prov.out;
  audit_ = std::make_unique<FailoverAudit>(clock(), pg_->admin_url);
  Status installed = audit_->Install();
  ASSERT_TRUE(installed.ok()) << installed.ToString();
  auto tables = audit_->InstallRegressionDetector(client_);
  ASSERT_TRUE(tables.ok()) << tables.status().ToString();
  ASSERT_GT(*tables, 0) << "no target table";

  auto writer =
      StartOwsync({"workload", "--db", db_path(), "--rate", std::to_string(setup.rate), "--seed",
                   std::to_string(seed_ + 1), "--victims", dir_->Child("victims.txt")},
                  "writer.log", {{"LOG_LEVEL", "info"}});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  writer_.emplace(std::move(*writer));
  auto capture = StartOwsync({"capture", "--db", db_path(), "--outbox", outbox_dir(), "--client",
                              client_, "--poll-ms", "20"},
                             "capture.log");
  ASSERT_TRUE(capture.ok()) << capture.status().ToString();
  capture_.emplace(std::move(*capture));
  for (int i = 0; i < 3000 && !env_->fs()->FileExists(outbox_dir()); ++i) Sleep(10'000);
  ASSERT_TRUE(env_->fs()->FileExists(outbox_dir())) << LogTail("capture.log");

  for (int i = 0; i < 2; ++i) {
    Node& n = nodes_[i];
    n.role = i == 0 ? "primary" : "secondary";
    auto port = cli::PickFreeLoopbackPort();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    n.api_port = *port;
    n.log = "ship-" + n.role + ".log";
    n.env = {{"ROLE", n.role},
             {"API_PORT", std::to_string(n.api_port)},
             {"LEASE_DURATION", SecondsText(setup.lease_seconds)},
             {"LOG_LEVEL", "info"}};
    if (setup.own_bouncers) {
      cli::LocalPgBouncerOptions o;
      o.fs = env_->fs();
      o.clock = clock();
      o.server_host = env_->host();
      o.server_port = env_->port();
      auto admin = shipper::PgUrl::Parse(env_->admin_url());
      ASSERT_TRUE(admin.ok()) << admin.status().ToString();
      o.admin_user = admin->Get("user").value_or("owsync_admin");
      o.pool_mode = "session";
      o.default_pool_size = 20;
      auto bouncer = cli::LocalPgBouncer::Start(o);
      ASSERT_TRUE(bouncer.ok()) << bouncer.status().ToString();
      n.bouncer = std::move(*bouncer);
      const std::string url = n.bouncer->UrlFor(host_->role, host_->password, pg_->name);
      n.env["DATABASE_URL"] = url;
      n.env["LOCK_DATABASE_URL"] = url;
    }
    if (setup.lease_only) n.env["LOCK_DATABASE_URL"] = "none";
  }
  ASSERT_NO_FATAL_FAILURE(StartNode(0));
  ASSERT_NO_FATAL_FAILURE(StartNode(1));
  monitor_ = std::make_unique<AckedOffsetMonitor>(clock(), pg_->admin_url, client_);
  monitor_->Start();
  LeaseState first = WaitForLeaderShipping(90 * kSecond);
  ASSERT_GE(first.node, 0) << "no node leads and ships within 90 s";
}

void FailoverFixture::StartNode(int i) {
  Node& n = nodes_[i];
  ASSERT_FALSE(n.process.has_value() && n.process->running()) << n.role << " runs already";
  auto child = StartOwsync({"ship", "--outbox-root", outbox_root()}, n.log, n.env);
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  n.process.emplace(std::move(*child));
}

void FailoverFixture::SignalNode(int i, int sig) {
  ASSERT_TRUE(nodes_[i].process.has_value()) << nodes_[i].role;
  Status s = nodes_[i].process->Signal(sig);
  ASSERT_TRUE(s.ok()) << nodes_[i].role << ": " << s.ToString();
}

void FailoverFixture::KillNode(int i) {
  ASSERT_NO_FATAL_FAILURE(SignalNode(i, SIGKILL));
  auto status = nodes_[i].process->Wait();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  ASSERT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL)
      << nodes_[i].role << " " << cli::DescribeWaitStatus(*status);
  nodes_[i].process.reset();
}

int FailoverFixture::StopNode(int i) {
  Node& n = nodes_[i];
  if (!n.process.has_value()) return -1;
  if (!n.process->Signal(SIGTERM).ok()) return -1;
  auto status = n.process->WaitFor(clock(), 60 * kSecond);
  EXPECT_TRUE(status.ok()) << status.status().ToString();
  if (!status.ok()) return -1;
  EXPECT_TRUE(status->has_value()) << n.role << " did not stop within 60 s of SIGTERM";
  if (!status->has_value()) return -1;
  n.process.reset();
  return cli::ExitCodeOf(**status);
}

bool FailoverFixture::NodeRunning(int i) {
  Node& n = nodes_[i];
  if (!n.process.has_value()) return false;
  auto st = n.process->TryWait();
  return st.ok() && !st->has_value();
}

pid_t FailoverFixture::NodePid(int i) const {
  return nodes_[i].process.has_value() ? nodes_[i].process->pid() : -1;
}

LeaseState FailoverFixture::Lease() {
  LeaseState s;
  auto res = audit_->Query(
      "SELECT leader_id, epoch, lease_expires_at > now() FROM sync_metadata.leader_election "
      "WHERE cluster_name = $1",
      {host_->cluster});
  if (!res.ok() || res->rows() != 1) return s;
  s.leader_id = std::string(res->GetValue(0, 0));
  s.epoch = std::stoll(std::string(res->GetValue(0, 1)));
  s.live = res->GetValue(0, 2) == "t";
  const pid_t pid = FailoverAudit::PidOfNodeId(s.leader_id);
  for (int i = 0; i < 2; ++i) {
    if (pid > 0 && NodePid(i) == pid) s.node = i;
  }
  return s;
}

LeaseState FailoverFixture::WaitForLeaderShipping(int64_t timeout_micros) {
  const int64_t end = clock()->MonotonicMicros() + timeout_micros;
  auto log = audit_->OffsetLog(client_);
  int64_t after = log.ok() && !log->empty() ? log->back().seq : 0;
  LeaseState s;
  while (clock()->MonotonicMicros() < end) {
    s = Lease();
    if (s.live && s.node >= 0) {
      auto rows = audit_->OffsetLog(client_, after);
      if (rows.ok()) {
        for (const OffsetLogRow& r : *rows) {
          if (r.epoch == s.epoch && r.is_batch()) return s;
        }
      }
    }
    Sleep(50'000);
  }
  ADD_FAILURE() << "no node led and shipped a batch within " << timeout_micros / kSecond
                << " s (lease: '" << s.leader_id << "' epoch " << s.epoch
                << (s.live ? " live" : " expired") << ")";
  return LeaseState{};
}

std::optional<OffsetLogRow> FailoverFixture::WaitForCommitAbove(int64_t epoch,
                                                                int64_t timeout_micros,
                                                                bool batch_only) {
  const int64_t end = clock()->MonotonicMicros() + timeout_micros;
  int64_t after = 0;
  do {
    auto rows = audit_->OffsetLog(client_, after);
    if (rows.ok()) {
      auto first = FailoverAudit::FirstAbove(*rows, epoch, batch_only);
      if (first.has_value()) return first;
      if (!rows->empty()) after = rows->back().seq;
    }
    Sleep(20'000);
  } while (clock()->MonotonicMicros() < end);
  return std::nullopt;
}

void FailoverFixture::ExpectNoFlapping(const LeaseState& expected, int64_t micros) {
  const int64_t end = clock()->MonotonicMicros() + micros;
  while (clock()->MonotonicMicros() < end) {
    LeaseState now = Lease();
    ASSERT_EQ(now.epoch, expected.epoch) << "leadership changed without a failure: '"
                                         << expected.leader_id << "' -> '" << now.leader_id << "'";
    ASSERT_EQ(now.leader_id, expected.leader_id);
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(NodeRunning(i)) << nodes_[i].role << " exited";
    Sleep(100'000);
  }
}

std::set<int> FailoverFixture::TcpPortsOf(pid_t pid) {
  std::set<std::string> inodes;
  const std::string proc = "/proc/" + std::to_string(pid);
  auto fds = env_->fs()->GetChildren(proc + "/fd");
  EXPECT_TRUE(fds.ok()) << fds.status().ToString();
  if (!fds.ok()) return {};
  for (const std::string& fd : *fds) {
    // Test-only: FileSystem has no readlink; /proc links name a socket's inode.
    char target[128];
    const ssize_t n = ::readlink((proc + "/fd/" + fd).c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    const std::string link(target, static_cast<size_t>(n));
    if (link.rfind("socket:[", 0) == 0) inodes.insert(link.substr(8, link.size() - 9));
  }
  std::set<int> ports;
  for (const char* table : {"/net/tcp", "/net/tcp6"}) {
    auto text = ReadFileToString(env_->fs(), proc + table);
    if (!text.ok()) continue;
    std::istringstream lines(*text);
    std::string line;
    std::getline(lines, line);  // header
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::vector<std::string> f;
      for (std::string field; fields >> field;) f.push_back(field);
      if (f.size() < 10 || inodes.count(f[9]) == 0) continue;
      const size_t colon = f[1].rfind(':');
      if (colon == std::string::npos) continue;
      ports.insert(static_cast<int>(std::stol(f[1].substr(colon + 1), nullptr, 16)));
    }
  }
  return ports;
}

void FailoverFixture::StopChild(std::optional<cli::ChildProcess>* child, const std::string& what) {
  ASSERT_TRUE(child->has_value()) << what;
  ASSERT_TRUE((*child)->Signal(SIGTERM).ok()) << what;
  auto status = (*child)->WaitFor(clock(), 60 * kSecond);
  ASSERT_TRUE(status.ok()) << what << ": " << status.status().ToString();
  ASSERT_TRUE(status->has_value()) << what << " did not stop within 60 s";
  EXPECT_EQ(cli::ExitCodeOf(**status), 0) << what << " " << cli::DescribeWaitStatus(**status);
  child->reset();
}

void FailoverFixture::Finish() {
  // The application stops and capture drains; the leader ships the rest.
  ASSERT_NO_FATAL_FAILURE(StopChild(&writer_, "workload"));
  ASSERT_NO_FATAL_FAILURE(StopChild(&capture_, "capture"));
  CliRun drained = Capture();
  ASSERT_EQ(drained.exit_code, 0) << drained.out;
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(NodeRunning(i)) << nodes_[i].role << " died by itself";

  // Before any re-snapshot the copy is equal: rows INSERT OR REPLACE deleted through a
  // UNIQUE column were seen by capture's BEFORE triggers, so none may differ.
  const std::set<std::string> victim_keys;
  cli::VerifyOptions vo;
  vo.db_path = db_path();
  vo.client = client_;
  vo.url = runtime_url_;
  vo.outbox_dir = outbox_dir();
  vo.wait_micros = 120 * kSecond;
  vo.max_report = 1'000'000;
  auto report = cli::Verifier(env_->fs(), clock(), nullptr).Run(vo);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_TRUE(report->caught_up) << "the leader did not catch up within 120 s: "
                                 << report->not_caught_up;
  const VerifyCounts counts = ExpectOnlyUnseenDeletes(*report, victim_keys);
  const int64_t rows = counts.rows, unseen_deletes = counts.unseen_deletes;
  // A re-snapshot tombstones those too; the leader ships it and verify is EQUAL.
  CliRun resnap = Owsync({"capture", "--db", db_path(), "--outbox", outbox_dir(), "--client",
                          client_, "--once", "--resnapshot"});
  ASSERT_EQ(resnap.exit_code, 0) << resnap.out;
  CliRun verify = Owsync({"verify", "--db", db_path(), "--client", client_, "--outbox",
                          outbox_dir(), "--wait", "120"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out;

  // No row went back (and the detector is live); the acked offset never decreased.
  auto regressions = audit_->Regressions();
  ASSERT_TRUE(regressions.ok()) << regressions.status().ToString();
  EXPECT_TRUE(regressions->empty())
      << regressions->size()
      << " row updates lowered _owsync_offset, first: " << regressions->front();
  Status live = audit_->ProveRegressionDetectorLive(client_);
  EXPECT_TRUE(live.ok()) << live.ToString();
  monitor_->Stop();
  EXPECT_TRUE(monitor_->decreases().empty()) << monitor_->decreases().front();
  EXPECT_GT(monitor_->samples(), 100) << "the acked offset was hardly sampled";

  // Both nodes stop on SIGTERM (the leader hands over, the follower just stops).
  LeaseState last = Lease();
  const int leader = last.node;
  for (int i : {1 - std::max(leader, 0), std::max(leader, 0)}) {
    const int code = StopNode(i);
    EXPECT_EQ(code, 0) << nodes_[i].role << " exit code";
  }

  // What PostgreSQL recorded: epochs and offsets never went back, every commit within its lease.
  auto offsets = audit_->OffsetLog(client_);
  ASSERT_TRUE(offsets.ok()) << offsets.status().ToString();
  auto leases = audit_->LeaseLog(host_->cluster);
  ASSERT_TRUE(leases.ok()) << leases.status().ToString();
  for (const std::string& v : FailoverAudit::CheckOffsetLog(*offsets)) ADD_FAILURE() << v;
  for (const std::string& v : FailoverAudit::CheckCommitsWithinLease(*offsets, *leases)) {
    ADD_FAILURE() << v;
  }
  std::set<int64_t> epochs;
  int64_t batches = 0;
  for (const OffsetLogRow& r : *offsets) {
    if (r.epoch > 0) epochs.insert(r.epoch);
    batches += r.is_batch() ? 1 : 0;
  }
  std::set<int64_t> lease_epochs;
  for (const LeaseLogRow& l : *leases) lease_epochs.insert(l.epoch);
  std::printf(
      "[ failover ] %lld rows compared, %lld deleted unseen until the re-snapshot; offset log: "
      "%zu commits (%lld batches) by %zu epochs; %zu lease terms; acked %lld sampled %lld times, "
      "%zu decreases; %zu row regressions; %.1f s\n",
      static_cast<long long>(rows), static_cast<long long>(unseen_deletes), offsets->size(),
      static_cast<long long>(batches), epochs.size(), lease_epochs.size(),
      static_cast<long long>(monitor_->last()), static_cast<long long>(monitor_->samples()),
      monitor_->decreases().size(), regressions->size(),
      static_cast<double>(clock()->MonotonicMicros() - started_micros_) / 1e6);
}

}  // namespace owsync::tests
