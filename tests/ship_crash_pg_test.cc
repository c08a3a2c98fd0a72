// Shipper crash tests (issue 4). The shipper (`owsync ship`, continuous, a real child process)
// is killed with SIGKILL at chosen phases of its batch transaction — mid-COPY, between COPY and
// COMMIT, or at a random moment (tests/shipper_phase_probe.h confirms the phase while the
// shipper is frozen) — and restarted, while the application (`owsync workload --rate`) writes
// to the tenant database and `owsync capture` runs; PostgreSQL itself (a private server of
// this test, never the shared one) is restarted mid-stream, fast or by a crash (immediate
// stop) with some downtime. Afterwards (writer stopped, capture drained, `ship --once`):
//  - no row ever went back: a test trigger on every target table records each UPDATE that
//    lowers _owsync_offset (it cannot miss one: it is proved live at the end), and none did;
//  - the acknowledged offset never decreased (sampled every 10 ms throughout);
//  - before any re-snapshot `owsync verify` is equal but for dead letters, also for the rows
//    the application's INSERT OR REPLACE deleted through UNIQUE columns (capture's BEFORE
//    triggers see them): a lost or an older row version would show as missing or different;
//    after `capture --resnapshot` and another ship it is still EQUAL.
//
// Size: 4 kills and 1 PostgreSQL restart per schema by default (CI); `--kills N`,
// `--pg-restarts N`, `--seed S` (or OWSYNC_KILLS, OWSYNC_PG_RESTARTS, OWSYNC_CHAOS_SEED).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <set>

#include "cli/db_admin.h"
#include "cli/verifier.h"
#include "cli/workload_generator.h"
#include "cli/workload_random.h"
#include "shipper/record_key.h"
#include "tests/acked_offset_monitor.h"
#include "tests/ship_chaos_flags.h"
#include "tests/ship_test_fixture.h"
#include "tests/shipper_phase_probe.h"

namespace owsync::tests {
namespace {

using shipper::Deadline;

struct CrashCase {
  const char* schema;
  const char* journal;
  int rate;  // application transactions per second
  int index;
};

void PrintTo(const CrashCase& c, std::ostream* os) { *os << c.schema << "/" << c.journal; }

constexpr int64_t kSecond = 1'000'000;
// Longest hunt for a targeted phase before the shipper is killed wherever it is.
constexpr int64_t kHuntMicros = 8 * kSecond;
// A restarted shipper leads once the killed one's lease expired (LEASE_DURATION below).
constexpr int64_t kLeadTimeoutMicros = 40 * kSecond;
const char* const kLeaseSeconds = "2";

// The regression detector: SECURITY DEFINER so the runtime role needs no grant on it.
constexpr const char* kDetectorSql = R"sql(
CREATE SCHEMA owsync_test;
CREATE TABLE owsync_test.regressions (table_name text, old_offset bigint, new_offset bigint,
                                      old_row text, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION owsync_test.note_regression() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  IF NEW._owsync_offset < OLD._owsync_offset THEN
    INSERT INTO owsync_test.regressions (table_name, old_offset, new_offset, old_row)
    VALUES (TG_TABLE_NAME, OLD._owsync_offset, NEW._owsync_offset, left(OLD::text, 300));
  END IF;
  RETURN NEW;
END $$;
-- Installs the detector on every table of schema s that has _owsync_offset; returns how many.
CREATE FUNCTION owsync_test.install(s text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE r record; n int := 0;
BEGIN
  FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = '_owsync_offset'
           WHERE ns.nspname = s AND c.relkind = 'r' LOOP
    EXECUTE format('CREATE TRIGGER zz_owsync_test_regression BEFORE UPDATE ON %I.%I FOR EACH '
                   'ROW EXECUTE FUNCTION owsync_test.note_regression()', s, r.relname);
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;
-- Lowers the offset of one row of schema s (call inside a transaction that is rolled back):
-- returns the regressions then recorded, or -1 when no table has a row.
CREATE FUNCTION owsync_test.prove_live(s text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE r record; n bigint;
BEGIN
  FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
           JOIN pg_trigger t ON t.tgrelid = c.oid AND t.tgname = 'zz_owsync_test_regression'
           WHERE ns.nspname = s LOOP
    EXECUTE format('UPDATE %I.%I SET _owsync_offset = _owsync_offset - 1 WHERE ctid = '
                   '(SELECT ctid FROM %I.%I LIMIT 1)', s, r.relname, s, r.relname);
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN RETURN (SELECT count(*) FROM owsync_test.regressions); END IF;
  END LOOP;
  RETURN -1;
END $$;
)sql";

class ShipCrashTest : public ShipTestFixture, public ::testing::WithParamInterface<CrashCase> {
 protected:
  // Like ShipTestFixture::SetUp, but on a private PostgreSQL this test may restart.
  void SetUp() override {
    env_ = PgTestEnv::Get();
    auto server = env_->StartPrivatePostgres();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    auto dir = ScopedTempDir::Create("owsync-ship-crash-");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    dir_.emplace(std::move(*dir));

    TestDatabase db{"ship_crash",
                    server_->UrlFor(cli::LocalPostgres::kAdminUser, std::nullopt, "ship_crash")};
    auto conn = env_->ConnectAdmin(server_->admin_url());
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    auto created = conn->Exec("CREATE DATABASE ship_crash", Deadline::After(clock(), 60 * kSecond));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    pg_ = db;

    cli::DbAdmin admin(env_->fs(), clock(), env_->logger());
    auto init = admin.Init(db.admin_url);
    ASSERT_TRUE(init.ok()) << init.status().ToString();
    TestHost h;
    h.name = "crash_host";
    auto added = admin.AddHost(db.admin_url, {h.name, "", "", dir_->Child("host.pw")});
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    auto pw = ReadFileToString(env_->fs(), dir_->Child("host.pw"));
    ASSERT_TRUE(pw.ok()) << pw.status().ToString();
    h.password = *pw;
    while (!h.password.empty() && (h.password.back() == '\n' || h.password.back() == '\r')) {
      h.password.pop_back();
    }
    h.cluster = added->cluster;
    h.role = added->role;
    h.host_id = added->host_id;
    h.url = server_->UrlFor(h.role, h.password, db.name);
    host_ = h;
    runtime_url_ = h.url;
    client_ = "acme_crash";
  }

  void TearDown() override {
    if (HasFailure() && dir_.has_value()) std::printf("%s\n", Logs().c_str());
    writer_.reset();  // SIGKILL and reap whatever still runs
    capture_.reset();
    shipper_.reset();
    ShipTestFixture::TearDown();
    server_.reset();  // stops the private server and removes its directory
  }

  Clock* clock() { return env_->clock(); }
  void Sleep(int64_t micros) { clock()->SleepForMicros(micros); }

  std::string LogTail(const std::string& name, size_t bytes = 4000) {
    auto text = ReadFileToString(env_->fs(), dir_->Child(name));
    if (!text.ok()) return "(no " + name + ")";
    return "\n--- " + name + " (tail) ---\n" +
           (text->size() > bytes ? text->substr(text->size() - bytes) : *text);
  }
  std::string Logs() {
    return LogTail("ship.log") + LogTail("capture.log") + LogTail("writer.log");
  }

  void StartShipper() {
    auto child = StartOwsync({"ship", "--outbox-root", outbox_root()}, "ship.log",
                             {{"LEASE_DURATION", kLeaseSeconds}, {"LOG_LEVEL", "info"}});
    ASSERT_TRUE(child.ok()) << child.status().ToString();
    shipper_.emplace(std::move(*child));
  }

  // SIGTERM, then the exit status (the process is reaped).
  void StopChild(std::optional<cli::ChildProcess>* child, const std::string& what, int* exit_code) {
    ASSERT_TRUE(child->has_value()) << what;
    ASSERT_TRUE((*child)->Signal(SIGTERM).ok()) << what;
    auto status = (*child)->WaitFor(clock(), 60 * kSecond);
    ASSERT_TRUE(status.ok()) << what << ": " << status.status().ToString();
    ASSERT_TRUE(status->has_value()) << what << " did not stop within 60 s";
    *exit_code = cli::ExitCodeOf(**status);
    child->reset();
  }

  // Restarts PostgreSQL while the shipper ships, and waits until the acked offset moves again.
  void RestartPostgres(cli::WorkloadRandom* rng, ShipperPhaseProbe* probe,
                       AckedOffsetMonitor* monitor, std::string* summary) {
    Status lead = probe->WaitForSession(&*shipper_, kLeadTimeoutMicros);
    ASSERT_TRUE(lead.ok()) << lead.ToString();
    Sleep(rng->Range(0, 800'000));  // mid-stream
    const int64_t acked_before = monitor->last();
    const bool crash = rng->Chance(0.5);
    const int64_t down = crash ? rng->Range(200'000, 2'500'000) : 0;
    const int64_t t0 = clock()->MonotonicMicros();
    if (crash) {
      Status st = server_->StopServer(cli::StopMode::kImmediate);
      ASSERT_TRUE(st.ok()) << st.ToString();
      Sleep(down);
      st = server_->StartServer();
      ASSERT_TRUE(st.ok()) << st.ToString();
    } else {
      Status st = server_->Restart(cli::StopMode::kFast);
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
    const int64_t up = clock()->MonotonicMicros();
    // The application writes on, so a working shipper acknowledges more soon: more than what
    // PostgreSQL holds now that it is back.
    Rows now = Query("SELECT acked_offset FROM sync_metadata.tenant_offsets WHERE client_name = $1",
                     {client_});
    ASSERT_EQ(now.size(), 1u);
    const int64_t acked_back = std::stoll(now[0][0].value_or("0"));
    while (monitor->last() <= acked_back && clock()->MonotonicMicros() - up < 90 * kSecond) {
      Sleep(20'000);
    }
    const int64_t recovered = clock()->MonotonicMicros() - up;
    ASSERT_GT(monitor->last(), acked_back)
        << "the shipper did not acknowledge anything within 90 s of PostgreSQL's restart";
    ASSERT_TRUE(shipper_->running());
    char line[200];
    std::snprintf(line, sizeof line,
                  "%s (server back after %.1f s), acked %lld before, %lld after; shipping "
                  "again %.1f s later",
                  crash ? "crash (immediate stop)" : "fast restart",
                  static_cast<double>(up - t0) / 1e6, static_cast<long long>(acked_before),
                  static_cast<long long>(acked_back), static_cast<double>(recovered) / 1e6);
    *summary = line;
  }

  std::unique_ptr<cli::LocalPostgres> server_;
  std::optional<cli::ChildProcess> writer_, capture_, shipper_;
};

TEST_P(ShipCrashTest, KilledShipperAndRestartedPostgresConvergeAndNothingGoesBack) {
  const CrashCase& c = GetParam();
  auto flags = ShipChaosFlags::FromProcess(env_->fs());
  ASSERT_TRUE(flags.ok()) << flags.status().ToString();
  const uint64_t seed = flags->seed * 10 + static_cast<uint64_t>(c.index);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (" + flags->ToString() + "), directory " +
               dir_->path());
  std::printf("[ %s ] %s, seed %llu\n", c.schema, flags->ToString().c_str(),
              static_cast<unsigned long long>(seed));
  const int64_t started = clock()->MonotonicMicros();
  cli::WorkloadRandom rng(seed);

  // The tenant database with some rows, provisioned, and the regression detector installed.
  CliRun init = Owsync({"workload", "--db", db_path(), "--init", "--schema", c.schema, "--journal",
                        c.journal, "--ops", "300", "--seed", std::to_string(seed)});
  ASSERT_EQ(init.exit_code, 0) << init.out;
  CliRun prov = Provision();
  ASSERT_EQ(prov.exit_code, 0) << prov.out;
  {
    auto conn = env_->ConnectAdmin(pg_->admin_url);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    auto made = conn->Exec(kDetectorSql, Deadline::After(clock(), 60 * kSecond));
    ASSERT_TRUE(made.ok()) << made.status().ToString();
  }
  Rows installed = Query("SELECT owsync_test.install($1)", {client_});
  ASSERT_EQ(installed.size(), 1u);
  ASSERT_GT(std::stoi(installed[0][0].value_or("0")), 0) << "no target table";

  // The application, capture and the shipper, all running.
  const std::string victims = dir_->Child("victims.txt");
  auto writer = StartOwsync({"workload", "--db", db_path(), "--rate", std::to_string(c.rate),
                             "--seed", std::to_string(seed + 1), "--victims", victims},
                            "writer.log", {{"LOG_LEVEL", "info"}});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  writer_.emplace(std::move(*writer));
  auto capture = StartOwsync({"capture", "--db", db_path(), "--outbox", outbox_dir(), "--client",
                              client_, "--poll-ms", "20"},
                             "capture.log");
  ASSERT_TRUE(capture.ok()) << capture.status().ToString();
  capture_.emplace(std::move(*capture));
  // `ship` exits when --outbox-root does not exist: capture creates it.
  for (int i = 0; i < 3000 && !env_->fs()->FileExists(outbox_dir()); ++i) Sleep(10'000);
  ASSERT_TRUE(env_->fs()->FileExists(outbox_dir())) << LogTail("capture.log");
  ASSERT_NO_FATAL_FAILURE(StartShipper());
  AckedOffsetMonitor monitor(clock(), pg_->admin_url, client_);
  monitor.Start();
  ShipperPhaseProbe probe(clock(), pg_->admin_url, client_);

  // Kills, with the PostgreSQL restarts spread among them.
  const int kills = flags->kills;
  const int restarts = flags->pg_restarts;
  std::map<int, int> restarts_at;  // before kill k (k == kills: after the last)
  for (int r = 0; r < restarts; ++r) ++restarts_at[(r + 1) * kills / (restarts + 1)];
  std::map<ShipperPhase, int> by_phase;
  std::map<KillTarget, std::pair<int, int>> by_target;  // hits, fallbacks
  std::vector<std::string> restart_lines;
  KillTarget targets[3] = {KillTarget::kMidCopy, KillTarget::kBeforeCommit, KillTarget::kAnytime};
  for (int k = 0; k <= kills; ++k) {
    for (int r = 0; r < restarts_at[k]; ++r) {
      std::string line;
      ASSERT_NO_FATAL_FAILURE(RestartPostgres(&rng, &probe, &monitor, &line));
      std::printf("[ %s ] PostgreSQL restart %zu: %s\n", c.schema, restart_lines.size() + 1,
                  line.c_str());
      restart_lines.push_back(line);
    }
    if (k == kills) break;
    Status lead = probe.WaitForSession(&*shipper_, kLeadTimeoutMicros);
    ASSERT_TRUE(lead.ok()) << "kill " << k << ": " << lead.ToString();
    // Every 3 kills take the 3 targets in a random order: even a short run hits each phase.
    if (k % 3 == 0) {
      for (int i = 2; i > 0; --i) std::swap(targets[i], targets[rng.Uniform(i + 1)]);
    }
    const KillTarget target = targets[k % 3];
    auto report = probe.Kill(&*shipper_, target, kHuntMicros, &rng);
    ASSERT_TRUE(report.ok()) << "kill " << k << ": " << report.status().ToString();
    auto status = shipper_->Wait();
    ASSERT_TRUE(status.ok()) << status.status().ToString();
    ASSERT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL)
        << "kill " << k << ": the shipper " << cli::DescribeWaitStatus(*status);
    shipper_.reset();
    ++by_phase[report->phase];
    (report->hit ? by_target[target].first : by_target[target].second)++;
    std::printf(
        "[ %s ] kill %d: target %s -> %s%s after %.2f s (%d samples, %d freezes); "
        "wait event '%s', last statement: %s\n",
        c.schema, k + 1, KillTargetName(target), ShipperPhaseName(report->phase),
        report->hit ? "" : " (fallback)", static_cast<double>(report->hunt_micros) / 1e6,
        report->samples, report->freezes, report->wait_event.c_str(), report->query.c_str());
    // Its server side must be gone before another shipper starts (it held the row lock).
    Status gone = probe.WaitForNoSessions({"owsync ship ", "owsync-lease"}, 30 * kSecond);
    ASSERT_TRUE(gone.ok()) << gone.ToString();
    if (rng.Chance(0.5)) Sleep(rng.Range(0, 1'000'000));  // the application writes on alone
    ASSERT_NO_FATAL_FAILURE(StartShipper());
  }
  const int64_t chaos_done = clock()->MonotonicMicros();

  // Quiesce: the application stops, capture drains, the shipper stops (releasing the lease)
  // and `ship --once` ships the rest.
  int code = -1;
  ASSERT_NO_FATAL_FAILURE(StopChild(&writer_, "workload", &code));
  EXPECT_EQ(code, 0) << LogTail("writer.log");
  ASSERT_NO_FATAL_FAILURE(StopChild(&capture_, "capture", &code));
  EXPECT_EQ(code, 0) << LogTail("capture.log");
  CliRun drained = Capture();
  ASSERT_EQ(drained.exit_code, 0) << drained.out;
  ASSERT_TRUE(shipper_->running()) << "the shipper died by itself";
  ASSERT_NO_FATAL_FAILURE(StopChild(&shipper_, "ship", &code));
  EXPECT_EQ(code, 0) << LogTail("ship.log");
  CliRun shipped = Ship();
  ASSERT_EQ(shipped.exit_code, 0) << shipped.out;

  // Before any re-snapshot the copy is equal: the rows the application's INSERT OR REPLACE
  // deleted through a UNIQUE column (the workload's victims file) were seen by capture's
  // BEFORE triggers, so none may differ.
  const std::set<std::string> victim_keys;
  cli::VerifyOptions vo;
  vo.db_path = db_path();
  vo.client = client_;
  vo.url = runtime_url_;
  vo.outbox_dir = outbox_dir();
  vo.max_report = 1'000'000;
  auto report = cli::Verifier(env_->fs(), clock(), nullptr).Run(vo);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_TRUE(report->caught_up) << report->not_caught_up;
  const VerifyCounts counts = ExpectOnlyUnseenDeletes(*report, victim_keys);
  const int64_t rows = counts.rows, unseen_deletes = counts.unseen_deletes,
                dead_letters = counts.dead_letters;
  // Then a re-snapshot tombstones those too, and verify is EQUAL.
  CliRun resnap = Owsync({"capture", "--db", db_path(), "--outbox", outbox_dir(), "--client",
                          client_, "--once", "--resnapshot"});
  ASSERT_EQ(resnap.exit_code, 0) << resnap.out;
  shipped = Ship();
  ASSERT_EQ(shipped.exit_code, 0) << shipped.out;
  CliRun verify = Verify();
  EXPECT_EQ(verify.exit_code, 0) << verify.out;

  // No row ever went back, and the detector that says so is live.
  Rows regressions = Query(
      "SELECT table_name, old_offset::text, new_offset::text, old_row FROM "
      "owsync_test.regressions ORDER BY at LIMIT 20");
  EXPECT_TRUE(regressions.empty())
      << regressions.size() << " row updates lowered "
      << "_owsync_offset, first: " << *regressions[0][0] << " " << *regressions[0][1] << " -> "
      << *regressions[0][2] << " " << regressions[0][3].value_or("");
  {
    auto conn = env_->ConnectAdmin(pg_->admin_url);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    ASSERT_TRUE(conn->Exec("BEGIN", Deadline::After(clock(), kSecond)).ok());
    auto live = conn->ExecParams("SELECT owsync_test.prove_live($1)", {client_},
                                 Deadline::After(clock(), 60 * kSecond));
    ASSERT_TRUE(live.ok()) << live.status().ToString();
    EXPECT_EQ(std::string(live->GetValue(0, 0)), std::to_string(regressions.size() + 1))
        << "the regression detector did not see a lowered offset";
    ASSERT_TRUE(conn->Exec("ROLLBACK", Deadline::After(clock(), kSecond)).ok());
  }
  monitor.Stop();
  EXPECT_TRUE(monitor.decreases().empty()) << monitor.decreases().front();
  EXPECT_GT(monitor.samples(), 100) << "the acked offset was hardly sampled";

  const int64_t ended = clock()->MonotonicMicros();
  auto ship_log = ReadFileToString(env_->fs(), dir_->Child("ship.log"));
  auto count = [&](const std::string& what) {
    int n = 0;
    for (size_t at = 0; ship_log.ok() && (at = ship_log->find(what, at)) != std::string::npos;
         at += what.size()) {
      ++n;
    }
    return n;
  };
  std::printf(
      "[ %s ] ship.log: %d leases acquired, %d step-downs, %d retries, %d tenant "
      "restarts\n",
      c.schema, count(" acquired epoch "), count(" stepped down "), count("retrying"),
      count("restarting in"));
  std::printf("[ %s ] %d kills, %d PostgreSQL restarts; chaos %.1f s, total %.1f s\n", c.schema,
              kills, restarts, static_cast<double>(chaos_done - started) / 1e6,
              static_cast<double>(ended - started) / 1e6);
  for (const auto& [target, n] : by_target) {
    std::printf("[ %s ]   target %-24s hit %d, fallback %d\n", c.schema, KillTargetName(target),
                n.first, n.second);
  }
  for (const auto& [phase, n] : by_phase) {
    std::printf("[ %s ]   killed %-38s %d\n", c.schema, ShipperPhaseName(phase), n);
  }
  std::printf(
      "[ %s ] %lld rows compared, %lld rows deleted unseen (until the re-snapshot), "
      "%lld dead letters; acked offset %lld, sampled %lld times (%lld failed "
      "samples), %zu decreases; %zu row regressions\n",
      c.schema, static_cast<long long>(rows), static_cast<long long>(unseen_deletes),
      static_cast<long long>(dead_letters), static_cast<long long>(monitor.last()),
      static_cast<long long>(monitor.samples()), static_cast<long long>(monitor.failed_samples()),
      monitor.decreases().size(), regressions.size());
}

INSTANTIATE_TEST_SUITE_P(Schemas, ShipCrashTest,
                         ::testing::Values(CrashCase{"v0.6.31", "delete", 40, 0},
                                           CrashCase{"v0.11.0", "wal", 80, 1}),
                         [](const auto& p) {
                           return std::string(p.param.index == 0 ? "v0_6_31" : "v0_11_0");
                         });

}  // namespace
}  // namespace owsync::tests
