#include "cli/demo_run.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <iostream>

#include "cli/db_admin.h"
#include "cli/demo_kept_hint.h"

namespace owsync::cli {
namespace {

constexpr char kHostName[] = "demo-host";
constexpr char kClusterName[] = "demo";
constexpr int64_t kSampleMicros = 100'000;  // lag resolution
constexpr int64_t kStopGraceMicros = 30'000'000;
constexpr int64_t kCatchUpTimeoutMicros = 300'000'000;
constexpr double kLeaseSeconds = 5;  // LEASE_DURATION: the failover's slow path stays short

double Seconds(int64_t micros) { return static_cast<double>(micros) / 1e6; }

// The last non-empty line of a command's output.
std::string LastLine(const std::string& text) {
  size_t end = text.find_last_not_of("\r\n");
  if (end == std::string::npos) return "";
  size_t begin = text.rfind('\n', end);
  return text.substr(begin == std::string::npos ? 0 : begin + 1, end + 1 - (begin + 1));
}

}  // namespace

void DemoRun::Say(const std::string& line) const { std::cout << line << std::endl; }

Status DemoRun::CheckInterrupted() const {
  return interrupted_->load() ? Status::Aborted("interrupted (Ctrl-C)") : Status::OK();
}

Status DemoRun::Run() {
  start_micros_ = ctx_->clock->MonotonicMicros();
  OWSYNC_ASSIGN_OR_RETURN(PrivateDir dir, PrivateDir::Create(ctx_->fs, "owsync-demo-", {}));
  private_dir_.emplace(std::move(dir));
  dir_ = private_dir_->path();
  Say("owsync demo: every change of an Open WebUI SQLite database, copied into PostgreSQL.");
  Say("working directory " + dir_ +
      (options_.keep ? " (kept at the end)" : " (removed at the end)"));
  OWSYNC_RETURN_IF_ERROR(Postgres());
  OWSYNC_RETURN_IF_ERROR(Sample());
  OWSYNC_RETURN_IF_ERROR(Provision());
  OWSYNC_RETURN_IF_ERROR(InitialSync());
  OWSYNC_RETURN_IF_ERROR(Write());
  OWSYNC_RETURN_IF_ERROR(Failover());
  OWSYNC_RETURN_IF_ERROR(CatchUp());
  OWSYNC_RETURN_IF_ERROR(Verify());
  Summary();
  if (!summary_.verified) {
    return Status::Internal("verify found differences between SQLite and PostgreSQL");
  }
  return Status::OK();
}

Status DemoRun::Postgres() {
  Say("");
  Say("[1/8] a private PostgreSQL 15 (initdb into a temporary directory, 127.0.0.1 only)");
  LocalPostgresOptions pg_options;
  pg_options.fs = ctx_->fs;
  pg_options.clock = ctx_->clock;
  pg_options.logger = nullptr;  // the demo says what happens itself
  OWSYNC_ASSIGN_OR_RETURN(pg_, LocalPostgres::Start(pg_options));
  Say(fmt::format("      listening on 127.0.0.1:{}, data in {}", pg_->port(), pg_->dir()));
  OWSYNC_RETURN_IF_ERROR(CheckInterrupted());

  DbAdmin admin(ctx_->fs, ctx_->clock, nullptr);
  OWSYNC_ASSIGN_OR_RETURN(DbInitReport init, admin.Init(pg_->admin_url()));
  Say(fmt::format("      db init: schema sync_metadata, roles, row-level security ({} changes)",
                  init.changes.size()));
  AddHostRequest host;
  host.name = kHostName;
  host.cluster = kClusterName;
  host.password_file = Path("host.password");
  OWSYNC_ASSIGN_OR_RETURN(AddHostResult added, admin.AddHost(pg_->admin_url(), host));
  host_role_ = added.role;
  OWSYNC_ASSIGN_OR_RETURN(std::string password, ReadFileToString(ctx_->fs, host.password_file));
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
    password.pop_back();
  }
  host_url_ = pg_->UrlFor(added.role, password, "postgres");
  // The shipper and verify read the URL (with its password) from this file, never from argv.
  OWSYNC_RETURN_IF_ERROR(WriteFileAtomically(ctx_->fs, Path("host.url"), host_url_ + "\n"));
  Say(fmt::format("      db add-host {} (cluster {}): login role {}, its URL in host.url (0600)",
                  kHostName, kClusterName, added.role));
  OWSYNC_ASSIGN_OR_RETURN(SchemaCheckReport check, admin.Check(host_url_));
  Say(fmt::format("      db check as {}: {} checks, {} problems", added.role, check.checks,
                  check.problems.size()));
  for (const std::string& p : check.problems) Say("        problem: " + p);
  if (!check.problems.empty()) return Status::Internal("db check found problems");

  std::vector<std::string> env = EnvironmentWith(
      {"DATABASE_URL_FILE=" + Path("host.url"), std::string("HOST_NAME=") + kHostName,
       std::string("CLUSTER_NAME=") + kClusterName, fmt::format("LEASE_DURATION={}", kLeaseSeconds),
       "LOG_LEVEL=info"},
      {"DATABASE_URL", "ADMIN_DATABASE_URL*", "LOCK_DATABASE_URL*", "ROLE", "API_*", "METRICS_PORT",
       "ENABLE_METRICS", "BATCH_*", "SHIP_QUEUE_BYTES", "HEARTBEAT_INTERVAL",
       "DEFAULT_SYNC_INTERVAL", "PG*"});
  processes_ = std::make_unique<DemoProcesses>(ctx_->fs, ctx_->clock, interrupted_, dir_, env);
  OWSYNC_ASSIGN_OR_RETURN(DemoMonitor monitor,
                          DemoMonitor::Connect(ctx_->fs, ctx_->clock, pg_->admin_url(),
                                               options_.client, Path("outbox/" + options_.client)));
  monitor_.emplace(std::move(monitor));
  return Status::OK();
}

Status DemoRun::Sample() {
  Say("");
  Say(
      fmt::format("[2/8] a sample Open WebUI database (v0.11.0 schema, WAL): {} chats of "
                  "1-50 KB JSON with {} messages each, plus the application's other tables",
                  options_.chats, options_.messages_per_chat));
  DemoSampleOptions o;
  o.path = Path("webui.db");
  o.general = std::max<int64_t>(options_.chats, 50);
  o.chats = options_.chats;
  o.messages_per_chat = options_.messages_per_chat;
  const int64_t t0 = ctx_->clock->MonotonicMicros();
  OWSYNC_ASSIGN_OR_RETURN(summary_.sample,
                          DemoSample::Create(ctx_->fs, ctx_->clock, o, interrupted_));
  Say(fmt::format(
      "      webui.db: {} chats ({:.1f} MB of JSON), {} chat_message rows, {} other rows "
      "changed by {} application transactions; {:.1f} MB on disk ({:.1f} s)",
      summary_.sample.chats, summary_.sample.chat_json_bytes / 1e6, summary_.sample.messages,
      summary_.sample.general_rows, summary_.sample.general_transactions,
      summary_.sample.database_bytes / 1e6, Seconds(ctx_->clock->MonotonicMicros() - t0)));
  return Status::OK();
}

Status DemoRun::Provision() {
  Say("");
  Say("[3/8] owsync provision: the tenant's schema in PostgreSQL, granted to " + host_role_ +
      " only");
  OWSYNC_ASSIGN_OR_RETURN(
      std::string out, processes_->Run("provision", {"provision", "--admin-url", pg_->admin_url(),
                                                     "--client", options_.client, "--host",
                                                     kHostName, "--db", Path("webui.db")}));
  Say("      " + LastLine(out));
  return Status::OK();
}

Status DemoRun::InitialSync() {
  const std::string outbox = Path("outbox/" + options_.client);
  Say("");
  Say("[4/8] initial sync: capture takes a snapshot into the outbox, ship copies it to "
      "PostgreSQL");
  OWSYNC_ASSIGN_OR_RETURN(
      std::string out,
      processes_->Run("capture-once", {"capture", "--db", Path("webui.db"), "--outbox", outbox,
                                       "--client", options_.client, "--once"}));
  Say("      " + LastLine(out));
  const int64_t t0 = ctx_->clock->MonotonicMicros();
  Say(
      fmt::format("      starting the sidecars: two owsync ship --outbox-root outbox, an HA pair "
                  "(ROLE=primary and ROLE=secondary, as {}, DATABASE_URL_FILE=host.url, "
                  "LEASE_DURATION={}), and owsync capture (continuous)",
                  host_role_, kLeaseSeconds));
  DemoFailoverOptions fo;
  fo.admin_url = pg_->admin_url();
  fo.cluster = kClusterName;
  fo.client = options_.client;
  fo.outbox_root = Path("outbox");
  fo.lease_seconds = kLeaseSeconds;
  OWSYNC_ASSIGN_OR_RETURN(failover_,
                          DemoFailover::Create(ctx_->fs, ctx_->clock, processes_.get(), fo,
                                               [this](const std::string& line) { Say(line); }));
  next_print_ = t0 + 1'000'000;
  OWSYNC_RETURN_IF_ERROR(failover_->Start([this] { return Tick(); }));
  OWSYNC_RETURN_IF_ERROR(
      processes_->Start("capture", {"capture", "--db", Path("webui.db"), "--outbox", outbox,
                                    "--client", options_.client, "--poll-ms", "50"}));
  OWSYNC_RETURN_IF_ERROR(WaitUntilCaughtUp("initial sync", kCatchUpTimeoutMicros));
  summary_.initial_seconds = Seconds(ctx_->clock->MonotonicMicros() - t0);
  OWSYNC_ASSIGN_OR_RETURN(DemoOffsets o, monitor_->Sample());
  summary_.initial_records = o.acked;
  Say(
      fmt::format("      PostgreSQL acknowledged all {} outbox records in {:.1f} s ({:.0f} "
                  "records/s, {:.1f} MB/s of SQLite data), shipper lease and startup included",
                  o.acked, summary_.initial_seconds, o.acked / summary_.initial_seconds,
                  summary_.sample.database_bytes / 1e6 / summary_.initial_seconds));
  return Status::OK();
}

void DemoRun::Progress(const DemoOffsets& o) {
  const int64_t elapsed = ctx_->clock->MonotonicMicros() - start_micros_;
  std::string written = rows_written_ ? fmt::format("written {:>6} rows | ", rows_written_()) : "";
  Say(fmt::format(
      "      {:>5.1f} s  {}outbox durable {:>6} | PostgreSQL acked {:>6} | "
      "behind {:>5} records, lag {:.1f} s",
      Seconds(elapsed), written, o.durable, o.acked,
      std::max<int64_t>(0, static_cast<int64_t>(o.durable) - o.acked), Seconds(o.lag_micros)));
}

Result<std::optional<DemoOffsets>> DemoRun::Poll() {
  OWSYNC_RETURN_IF_ERROR(CheckInterrupted());
  OWSYNC_RETURN_IF_ERROR(processes_->CheckAllRunning());
  const int64_t now = ctx_->clock->MonotonicMicros();
  if (now < next_sample_) return std::optional<DemoOffsets>();
  next_sample_ = now + kSampleMicros;
  OWSYNC_ASSIGN_OR_RETURN(DemoOffsets o, monitor_->Sample());
  if (now >= next_print_) {
    Progress(o);
    next_print_ = now + 1'000'000;
  }
  return std::optional<DemoOffsets>(o);
}

Status DemoRun::Tick() {
  OWSYNC_ASSIGN_OR_RETURN(std::optional<DemoOffsets> o, Poll());
  if (o.has_value() && writer_ != nullptr) summary_.lag_micros.push_back(o->lag_micros);
  return Status::OK();
}

Status DemoRun::WaitUntilCaughtUp(const std::string& what, int64_t timeout_micros) {
  const int64_t deadline = ctx_->clock->MonotonicMicros() + timeout_micros;
  next_print_ = ctx_->clock->MonotonicMicros() + 1'000'000;
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(std::optional<DemoOffsets> o, Poll());
    if (o.has_value() && o->durable > 0 && o->caught_up()) {
      Progress(*o);
      return Status::OK();
    }
    if (o.has_value() && ctx_->clock->MonotonicMicros() >= deadline) {
      return Status::Internal(fmt::format(
          "{}: PostgreSQL did not catch up within {:.0f} s (acked {} of {}); see {}*.log", what,
          Seconds(timeout_micros), o->acked, o->durable, Path("ship-")));
    }
    ctx_->clock->SleepForMicros(kSampleMicros);
  }
}

Status DemoRun::WriteUntil(int64_t end) {
  while (true) {
    OWSYNC_RETURN_IF_ERROR(Tick());
    const int64_t now = ctx_->clock->MonotonicMicros();
    if (now >= end) return Status::OK();
    ctx_->clock->SleepForMicros(std::min<int64_t>(end - now, kSampleMicros));
  }
}

Status DemoRun::Write() {
  Say("");
  Say(
      fmt::format("[5/8] the application writes for {:.0f} s at ~{:.0f} transactions/s "
                  "(inserts, updates, deletes, key changes, odd values) while capture and ship "
                  "run",
                  options_.seconds, options_.rate));
  WorkloadOptions wo;
  wo.db_path = Path("webui.db");
  wo.seed = 8;
  wo.odd_rate = 0.001;  // a few odd values: some become dead letters
  OWSYNC_ASSIGN_OR_RETURN(writer_, DemoWriter::Open(ctx_->fs, ctx_->clock, wo, options_.rate));
  OWSYNC_ASSIGN_OR_RETURN(DemoOffsets before, monitor_->Sample());
  summary_.acked_before_write = before.acked;
  rows_written_ = [w = writer_.get()] { return w->rows_changed(); };
  write_start_ = ctx_->clock->MonotonicMicros();
  write_end_ = write_start_ + static_cast<int64_t>(options_.seconds * 1e6);
  next_print_ = write_start_ + 1'000'000;
  writer_->Start();
  return WriteUntil(write_start_ + (write_end_ - write_start_) / 2);
}

Status DemoRun::Failover() {
  Say("");
  Say(
      fmt::format("[6/8] failover, mid-stream: SIGKILL of the leading ship node while the "
                  "application writes (lease {} s; the follower need not wait for it when it sees "
                  "the leader's advisory lock gone)",
                  kLeaseSeconds));
  const auto tick = [this] { return Tick(); };
  summary_.failover_into_write_seconds = Seconds(ctx_->clock->MonotonicMicros() - write_start_);
  OWSYNC_RETURN_IF_ERROR(failover_->KillLeader(tick));
  OWSYNC_RETURN_IF_ERROR(failover_->Restart(tick));
  const int64_t now = ctx_->clock->MonotonicMicros();
  if (now < write_end_) {
    Say(fmt::format("      the application writes on for {:.1f} s", Seconds(write_end_ - now)));
  }
  OWSYNC_RETURN_IF_ERROR(WriteUntil(write_end_));
  return StopWriter();
}

Status DemoRun::StopWriter() {
  writer_->Stop();
  Status joined = writer_->Join();
  summary_.write_seconds = Seconds(ctx_->clock->MonotonicMicros() - write_start_);
  rows_written_ = nullptr;
  OWSYNC_RETURN_IF_ERROR(joined.WithContext("the demo's application writer"));
  summary_.RecordWrite(writer_->generator());
  writer_.reset();
  OWSYNC_ASSIGN_OR_RETURN(DemoOffsets after, monitor_->Sample());
  summary_.acked_after_write = after.acked;
  Say(fmt::format("      the application stopped: {} transactions changed {} rows in {:.1f} s",
                  summary_.write_transactions, summary_.write_rows, summary_.write_seconds));
  return Status::OK();
}

Status DemoRun::CatchUp() {
  const std::string outbox = Path("outbox/" + options_.client);
  Say("");
  Say("[7/8] catching up: capture drains the last changes, ship applies them");
  const int64_t t0 = ctx_->clock->MonotonicMicros();
  OWSYNC_ASSIGN_OR_RETURN(std::string how, processes_->Stop("capture", kStopGraceMicros));
  Say("      capture sidecar stopped (SIGTERM: " + how +
      "); owsync capture --once drains the rest");
  std::vector<std::string> once = {"capture", "--db",     Path("webui.db"), "--outbox",
                                   outbox,    "--client", options_.client,  "--once"};
  OWSYNC_ASSIGN_OR_RETURN(std::string out, processes_->Run("capture-once", once));
  Say("      " + LastLine(out));
  OWSYNC_RETURN_IF_ERROR(WaitUntilCaughtUp("catching up", kCatchUpTimeoutMicros));
  summary_.catch_up_seconds = Seconds(ctx_->clock->MonotonicMicros() - t0);
  OWSYNC_ASSIGN_OR_RETURN(DemoOffsets o, monitor_->Sample());
  summary_.final_offset = o.acked;
  Say(fmt::format("      caught up {:.1f} s after the application stopped: acked == durable == {}",
                  summary_.catch_up_seconds, o.acked));
  OWSYNC_RETURN_IF_ERROR(failover_->Stop(kStopGraceMicros));
  summary_.failover = failover_->report();
  OWSYNC_ASSIGN_OR_RETURN(summary_.tenant, monitor_->TenantCounts());
  OWSYNC_ASSIGN_OR_RETURN(summary_.live_rows, monitor_->LiveRows());
  return Status::OK();
}

Status DemoRun::Verify() {
  Say("");
  Say("[8/8] owsync verify: every table, row by row, SQLite against PostgreSQL (as " + host_role_ +
      ")");
  VerifyOptions o;
  o.db_path = Path("webui.db");
  o.client = options_.client;
  o.url = host_url_;
  o.outbox_dir = Path("outbox/" + options_.client);
  o.wait_micros = 10'000'000;
  o.max_report = 5;
  Verifier verifier(ctx_->fs, ctx_->clock, nullptr);
  OWSYNC_ASSIGN_OR_RETURN(VerifyReport report, verifier.Run(o));
  for (const std::string& line : summary_.RecordVerify(report)) Say("      " + line);
  return Status::OK();
}

void DemoRun::Summary() {
  summary_.client = options_.client;
  summary_.total_seconds = Seconds(ctx_->clock->MonotonicMicros() - start_micros_);
  Say("");
  Say("summary");
  for (const std::string& line : summary_.Lines()) Say(line);
}

void DemoRun::Cleanup() {
  if (cleaned_up_) return;
  cleaned_up_ = true;
  writer_.reset();     // stops and joins the application's thread
  failover_.reset();   // before the processes it points to
  processes_.reset();  // stops the sidecars still running, newest first
  monitor_.reset();
  if (pg_ != nullptr && options_.keep) {
    const DemoKeptHint hint = DemoKeptHint::StopAndKeep(pg_.get(), dir_, options_.client);
    pg_.reset();
    for (const std::string& line : hint.Lines()) Say(line);
  } else if (pg_ != nullptr) {
    Status s = pg_->Stop();
    if (!s.ok()) Say("stopping PostgreSQL: " + s.ToString());
    pg_.reset();
  }
  if (private_dir_.has_value()) {
    if (options_.keep) {
      private_dir_->Keep();
    } else {
      Status s = private_dir_->Remove();
      Say(s.ok() ? "removed " + dir_ + " and PostgreSQL's directory"
                 : "removing " + dir_ + ": " + s.ToString());
    }
    private_dir_.reset();
  }
}

}  // namespace owsync::cli
