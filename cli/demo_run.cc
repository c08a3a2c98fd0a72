#include "cli/demo_run.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <set>

#include "cli/db_admin.h"
#include "cli/demo_writer.h"

namespace owsync::cli {
namespace {

constexpr char kHostName[] = "demo-host";
constexpr char kClusterName[] = "demo";
constexpr int64_t kSampleMicros = 100'000;  // lag resolution
constexpr int64_t kStopGraceMicros = 30'000'000;
constexpr int64_t kCatchUpTimeoutMicros = 300'000'000;

double Seconds(int64_t micros) { return static_cast<double>(micros) / 1e6; }

// This binary's path, for commands printed to be run by hand.
std::string SelfPath() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "owsync";
}

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
  OWSYNC_RETURN_IF_ERROR(CatchUp());
  OWSYNC_RETURN_IF_ERROR(Verify());
  Summary();
  if (verify_->ExitCode(/*strict=*/false) != 0) {
    return Status::Internal("verify found differences between SQLite and PostgreSQL");
  }
  return Status::OK();
}

Status DemoRun::Postgres() {
  Say("");
  Say("[1/7] a private PostgreSQL 15 (initdb into a temporary directory, 127.0.0.1 only)");
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
       std::string("CLUSTER_NAME=") + kClusterName, "LEASE_DURATION=5", "LOG_LEVEL=info"},
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
      fmt::format("[2/7] a sample Open WebUI database (v0.11.0 schema, WAL): {} chats of "
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
  Say("[3/7] owsync provision: the tenant's schema in PostgreSQL, granted to " + host_role_ +
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
  Say("[4/7] initial sync: capture takes a snapshot into the outbox, ship copies it to "
      "PostgreSQL");
  OWSYNC_ASSIGN_OR_RETURN(
      std::string out,
      processes_->Run("capture-once", {"capture", "--db", Path("webui.db"), "--outbox", outbox,
                                       "--client", options_.client, "--once"}));
  Say("      " + LastLine(out));
  const int64_t t0 = ctx_->clock->MonotonicMicros();
  Say("      starting the sidecars: owsync ship --outbox-root outbox (as " + host_role_ +
      ", DATABASE_URL_FILE=host.url) and owsync capture (continuous)");
  OWSYNC_RETURN_IF_ERROR(processes_->Start("ship", {"ship", "--outbox-root", Path("outbox")}));
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

Status DemoRun::WaitUntilCaughtUp(const std::string& what, int64_t timeout_micros) {
  const int64_t deadline = ctx_->clock->MonotonicMicros() + timeout_micros;
  int64_t next_print = ctx_->clock->MonotonicMicros() + 1'000'000;
  while (true) {
    OWSYNC_RETURN_IF_ERROR(CheckInterrupted());
    OWSYNC_RETURN_IF_ERROR(processes_->CheckAllRunning());
    OWSYNC_ASSIGN_OR_RETURN(DemoOffsets o, monitor_->Sample());
    const int64_t now = ctx_->clock->MonotonicMicros();
    if (o.durable > 0 && o.caught_up()) {
      Progress(o);
      return Status::OK();
    }
    if (now >= next_print) {
      Progress(o);
      next_print += 1'000'000;
    }
    if (now >= deadline) {
      return Status::Internal(fmt::format(
          "{}: PostgreSQL did not catch up within {:.0f} s "
          "(acked {} of {}); see {}",
          what, Seconds(timeout_micros), o.acked, o.durable, processes_->LogPath("ship")));
    }
    ctx_->clock->SleepForMicros(kSampleMicros);
  }
}

Status DemoRun::Write() {
  Say("");
  Say(
      fmt::format("[5/7] the application writes for {:.0f} s at ~{:.0f} transactions/s "
                  "(inserts, updates, deletes, key changes, odd values) while capture and ship "
                  "run",
                  options_.seconds, options_.rate));
  WorkloadOptions wo;
  wo.db_path = Path("webui.db");
  wo.seed = 8;
  wo.odd_rate = 0.001;  // a few odd values: some become dead letters
  OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<DemoWriter> writer,
                          DemoWriter::Open(ctx_->fs, ctx_->clock, wo, options_.rate));
  OWSYNC_ASSIGN_OR_RETURN(DemoOffsets before, monitor_->Sample());
  summary_.acked_before_write = before.acked;
  DemoWriter* w = writer.get();
  rows_written_ = [w] { return w->rows_changed(); };
  const int64_t t0 = ctx_->clock->MonotonicMicros();
  const int64_t end = t0 + static_cast<int64_t>(options_.seconds * 1e6);
  writer->Start();
  Status failed;
  for (int64_t next_print = t0 + 1'000'000; failed.ok();) {
    failed = CheckInterrupted();
    if (failed.ok()) failed = processes_->CheckAllRunning();
    if (!failed.ok() || ctx_->clock->MonotonicMicros() >= end) break;
    auto o = monitor_->Sample();
    if (!o.ok()) {
      failed = o.status();
      break;
    }
    summary_.lag_micros.push_back(o->lag_micros);
    const int64_t now = ctx_->clock->MonotonicMicros();
    if (now >= next_print) {
      Progress(*o);
      next_print += 1'000'000;
    }
    ctx_->clock->SleepForMicros(std::clamp<int64_t>(end - now, 0, kSampleMicros));
  }
  writer->Stop();
  Status joined = writer->Join();
  summary_.write_seconds = Seconds(ctx_->clock->MonotonicMicros() - t0);
  rows_written_ = nullptr;
  OWSYNC_RETURN_IF_ERROR(failed);
  OWSYNC_RETURN_IF_ERROR(joined.WithContext("the demo's application writer"));
  const WorkloadCounts& c = writer->generator().counts();
  summary_.write_transactions = c.transactions;
  summary_.write_rows = c.rows_changed;
  summary_.write_counts = fmt::format(
      "{} inserts, {} updates, {} upserts, {} key changes, {} deletes, {} INSERT OR REPLACE, "
      "{} odd values",
      c.inserts, c.updates, c.upserts, c.key_changes, c.deletes, c.replaces + c.replace_collisions,
      c.odd_values);
  std::set<std::string> tables;
  for (const WorkloadVictim& v : writer->generator().victims()) tables.insert(v.table);
  summary_.victims = static_cast<int64_t>(writer->generator().victims().size());
  summary_.resnapshot_tables.assign(tables.begin(), tables.end());
  OWSYNC_ASSIGN_OR_RETURN(DemoOffsets after, monitor_->Sample());
  summary_.acked_after_write = after.acked;
  Say(fmt::format("      the application stopped: {} transactions changed {} rows in {:.1f} s",
                  summary_.write_transactions, summary_.write_rows, summary_.write_seconds));
  return Status::OK();
}

Status DemoRun::CatchUp() {
  const std::string outbox = Path("outbox/" + options_.client);
  Say("");
  Say("[6/7] catching up: capture drains the last changes, ship applies them");
  const int64_t t0 = ctx_->clock->MonotonicMicros();
  OWSYNC_ASSIGN_OR_RETURN(std::string how, processes_->Stop("capture", kStopGraceMicros));
  Say("      capture sidecar stopped (SIGTERM: " + how +
      "); owsync capture --once drains the rest");
  std::vector<std::string> once = {"capture", "--db",     Path("webui.db"), "--outbox",
                                   outbox,    "--client", options_.client,  "--once"};
  if (summary_.resnapshot_tables.empty()) {
    OWSYNC_ASSIGN_OR_RETURN(std::string out, processes_->Run("capture-once", once));
    Say("      " + LastLine(out));
  } else {
    Say(
        fmt::format("      INSERT OR REPLACE through a UNIQUE column deleted {} rows without a "
                    "delete trigger (SQLite fires none): re-snapshotting {} with owsync capture "
                    "--once --resnapshot TABLE",
                    summary_.victims, fmt::join(summary_.resnapshot_tables, ", ")));
    std::string last;
    for (const std::string& table : summary_.resnapshot_tables) {
      std::vector<std::string> args = once;
      args.insert(args.end(), {"--resnapshot", table});
      OWSYNC_ASSIGN_OR_RETURN(std::string out, processes_->Run("capture-once", args));
      last = LastLine(out);
    }
    Say("      last one: " + last);
  }
  OWSYNC_RETURN_IF_ERROR(WaitUntilCaughtUp("catching up", kCatchUpTimeoutMicros));
  summary_.catch_up_seconds = Seconds(ctx_->clock->MonotonicMicros() - t0);
  OWSYNC_ASSIGN_OR_RETURN(DemoOffsets o, monitor_->Sample());
  summary_.final_offset = o.acked;
  Say(fmt::format("      caught up {:.1f} s after the application stopped: acked == durable == {}",
                  summary_.catch_up_seconds, o.acked));
  OWSYNC_ASSIGN_OR_RETURN(how, processes_->Stop("ship", kStopGraceMicros));
  Say("      ship sidecar stopped (SIGTERM: " + how + ")");
  OWSYNC_ASSIGN_OR_RETURN(summary_.tenant, monitor_->TenantCounts());
  OWSYNC_ASSIGN_OR_RETURN(summary_.live_rows, monitor_->LiveRows());
  return Status::OK();
}

Status DemoRun::Verify() {
  Say("");
  Say("[7/7] owsync verify: every table, row by row, SQLite against PostgreSQL (as " + host_role_ +
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
  verify_ = std::move(report);
  int64_t rows = 0;
  int64_t equal = 0;
  int64_t dead_letters = 0;
  int64_t conflicts = 0;
  int tables = 0;
  for (const VerifyTable& t : verify_->tables) {
    if (!t.replicated) continue;
    ++tables;
    rows += t.rows;
    equal += t.equal;
    dead_letters += t.dead_letters;
    conflicts += t.conflicts;
    if (t.differences > 0 || !t.problem.empty()) {
      Say(fmt::format("      table {}: {} differences {}", t.table, t.differences, t.problem));
      for (const VerifyRow& r : t.rows_reported) {
        if (r.tolerated.empty()) Say("        " + r.kind + " " + r.record_key + " " + r.detail);
      }
    }
  }
  if (!verify_->caught_up) Say("      " + verify_->not_caught_up);
  Say(
      fmt::format("      {} tables, {} rows compared: {} equal, {} differences, {} rows with a "
                  "dead letter and {} with a pending conflict (listed, allowed)",
                  tables, rows, equal, verify_->Differences(), dead_letters, conflicts));
  Say(verify_->ExitCode(false) == 0 ? "      verify: PASSED" : "      verify: FAILED");
  return Status::OK();
}

void DemoRun::Summary() {
  summary_.client = options_.client;
  summary_.verified = verify_->ExitCode(/*strict=*/false) == 0;
  summary_.differences = verify_->Differences();
  summary_.total_seconds = Seconds(ctx_->clock->MonotonicMicros() - start_micros_);
  Say("");
  Say("summary");
  for (const std::string& line : summary_.Lines()) Say(line);
}

void DemoRun::Cleanup() {
  if (cleaned_up_) return;
  cleaned_up_ = true;
  processes_.reset();  // stops the sidecars still running, newest first
  monitor_.reset();
  if (pg_ != nullptr && options_.keep) {
    const std::string bindir = pg_->bindir();
    const std::string data_dir = pg_->data_dir();
    const std::string pg_dir = pg_->StopAndKeepDirectory();
    const std::string as =
        pg_->server_user().has_value() ? "runuser -u " + pg_->server_user()->name + " -- " : "";
    const int port = pg_->port();
    pg_.reset();
    Say("");
    Say("kept: " + dir_ + " (webui.db, outbox/, *.log, host.url) and PostgreSQL's " + pg_dir);
    Say("to look at the data, start the server again and use psql:");
    Say(
        fmt::format("  {}{}/postgres -D {} -c port={} -c listen_addresses=127.0.0.1 -c "
                    "unix_socket_directories={} -c hba_file={}/pg_hba.conf &",
                    as, bindir, data_dir, port, pg_dir, pg_dir));
    Say(
        fmt::format("  psql 'postgresql://owsync_admin@127.0.0.1:{}/postgres' -c 'SELECT id, "
                    "title FROM \"{}\".chat LIMIT 5'",
                    port, options_.client));
    Say(fmt::format("  DATABASE_URL_FILE={} {} verify --db {} --client {} --outbox {}",
                    Path("host.url"), SelfPath(), Path("webui.db"), options_.client,
                    Path("outbox/" + options_.client)));
    Say("  remove both directories when done (rm -rf)");
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
