// `owsync demo`: the README's first command ends here. It shows, on this machine and with
// nothing configured, what owsync does so far:
//   1. a private PostgreSQL 15 (LocalPostgres), the sync_metadata schema, roles and row-level
//      security applied (`owsync db init`), a host registered with its own login role
//      (`db add-host`) and the schema checked as that host (`db check`);
//   2. a sample Open WebUI database made from the v0.11.0 fixture, an application-like writer
//      (`owsync workload`) changing it while `owsync capture` runs as a separate process (the
//      sidecar), then the remaining changes drained and the outbox verified (`outbox verify`)
//      and summarised (`outbox stats`).
// Shipping the outbox into PostgreSQL comes with the shipper (issue 4): the demo says so.
// Everything lives in one private directory that is removed at the end (--keep keeps it).
#include <signal.h>
#include <sys/wait.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "cli/child_process.h"
#include "cli/cli_context.h"
#include "cli/db_admin.h"
#include "cli/local_postgres.h"
#include "cli/private_dir.h"

namespace owsync::cli {
namespace {

struct DemoFlags {
  double seconds = 10;
  double rate = 200;
  bool keep = false;
};

class Demo {
 public:
  Demo(CliContext* ctx, const DemoFlags& flags) : ctx_(ctx), flags_(flags) {}

  Status Run() {
    const int64_t start = ctx_->clock->MonotonicMicros();
    OWSYNC_ASSIGN_OR_RETURN(auto dir, PrivateDir::Create(ctx_->fs, "owsync-demo-", std::nullopt));
    if (flags_.keep) dir.Keep();
    dir_ = dir.path();
    Say("working directory " + dir_ + (flags_.keep ? " (kept)" : " (removed at the end)"));

    OWSYNC_RETURN_IF_ERROR(PostgresPart());
    OWSYNC_RETURN_IF_ERROR(CapturePart());

    Say("");
    Say("summary");
    for (const std::string& line : summary_) Say("  " + line);
    Say("  shipping the outbox into PostgreSQL, verify and failover: not built yet (issues 4, 5)");
    Say(fmt::format("  demo took {:.1f} s", (ctx_->clock->MonotonicMicros() - start) / 1e6));
    return Status::OK();
  }

 private:
  void Say(const std::string& line) { std::cout << "demo: " << line << std::endl; }

  Status PostgresPart() {
    Say("starting a private PostgreSQL 15 (initdb into a temporary directory, loopback only)");
    LocalPostgresOptions pg_options;
    pg_options.fs = ctx_->fs;
    pg_options.clock = ctx_->clock;
    pg_options.logger = ctx_->logger;
    OWSYNC_ASSIGN_OR_RETURN(pg_, LocalPostgres::Start(pg_options));
    Say(fmt::format("PostgreSQL listening on 127.0.0.1:{}", pg_->port()));

    DbAdmin admin(ctx_->fs, ctx_->clock, ctx_->logger);
    OWSYNC_ASSIGN_OR_RETURN(DbInitReport init, admin.Init(pg_->admin_url()));
    Say(fmt::format("db init: {} changes (schema sync_metadata, roles, row-level security)",
                    init.changes.size()));
    OWSYNC_ASSIGN_OR_RETURN(DbInitReport again, admin.Init(pg_->admin_url()));
    Say(again.changed ? "db init again: changed something (unexpected)"
                      : "db init again: nothing changed (idempotent)");

    AddHostRequest host;
    host.name = "demo-host";
    host.cluster = "demo";
    host.password_file = JoinPath(dir_, "demo-host.password");
    OWSYNC_ASSIGN_OR_RETURN(AddHostResult added, admin.AddHost(pg_->admin_url(), host));
    Say("db add-host: login role " + added.role + ", password written to " + host.password_file +
        " (mode 0600, never printed)");
    OWSYNC_ASSIGN_OR_RETURN(std::string password, ReadFileToString(ctx_->fs, host.password_file));
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
      password.pop_back();
    }
    OWSYNC_ASSIGN_OR_RETURN(SchemaCheckReport check,
                            admin.Check(pg_->UrlFor(added.role, password, "postgres")));
    Say(fmt::format("db check as {}: {} checks, {} problems", added.role, check.checks,
                    check.problems.size()));
    for (const std::string& p : check.problems) Say("  problem: " + p);
    summary_.push_back(fmt::format(
        "PostgreSQL: sync_metadata provisioned ({} objects changed), host role {} checked: {}",
        init.changes.size(), added.role, check.problems.empty() ? "OK" : "PROBLEMS"));
    if (!check.problems.empty()) return Status::Internal("db check found problems");
    return Status::OK();
  }

  // Runs `owsync ARGS...` (this binary) to completion; its output goes to our terminal.
  Status RunSelf(const std::vector<std::string>& args) {
    OWSYNC_ASSIGN_OR_RETURN(ChildProcess child, StartSelf(args, ""));
    OWSYNC_ASSIGN_OR_RETURN(int wait_status, child.Wait());
    if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
      return Status::Internal("owsync " + args[0] + " " + DescribeWaitStatus(wait_status));
    }
    return Status::OK();
  }

  Result<ChildProcess> StartSelf(const std::vector<std::string>& args,
                                 const std::string& output_path) {
    ChildProcessOptions options;
    options.argv = {"/proc/self/exe"};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.output_path = output_path;
    return ChildProcess::Start(options);
  }

  Status CapturePart() {
    const std::string db = JoinPath(dir_, "webui.db");
    const std::string outbox = JoinPath(dir_, "outbox/demo");
    Say("");
    Say("creating a sample Open WebUI v0.11.0 database (WAL) with 500 transactions");
    OWSYNC_RETURN_IF_ERROR(RunSelf({"workload", "--db", db, "--init", "--schema", "v0.11.0",
                                    "--journal", "wal", "--ops", "500", "--seed", "7"}));

    Say("starting the capture sidecar: owsync capture --db webui.db --outbox outbox/demo");
    const std::string capture_log = JoinPath(dir_, "capture.log");
    OWSYNC_ASSIGN_OR_RETURN(ChildProcess capture,
                            StartSelf({"capture", "--db", db, "--outbox", outbox, "--client",
                                       "demo", "--poll-ms", "50"},
                                      capture_log));

    Say(
        fmt::format("the application writes for {:.0f} s at ~{:.0f} transactions/s while capture "
                    "runs",
                    flags_.seconds, flags_.rate));
    OWSYNC_RETURN_IF_ERROR(
        RunSelf({"workload", "--db", db, "--seconds", fmt::format("{}", flags_.seconds), "--rate",
                 fmt::format("{}", flags_.rate), "--seed", "8"}));

    Say("stopping capture (SIGTERM: it finishes its step and commits)");
    OWSYNC_RETURN_IF_ERROR(capture.Signal(SIGTERM));
    OWSYNC_ASSIGN_OR_RETURN(std::optional<int> stopped, capture.WaitFor(ctx_->clock, 30'000'000));
    if (!stopped.has_value()) return Status::Internal("capture did not stop within 30 s");
    Say("capture exited: " + DescribeWaitStatus(*stopped) + " (its log: " + capture_log + ")");

    Say("draining what is left: owsync capture --once");
    OWSYNC_RETURN_IF_ERROR(
        RunSelf({"capture", "--db", db, "--outbox", outbox, "--client", "demo", "--once"}));
    Say("owsync capture --status:");
    OWSYNC_RETURN_IF_ERROR(RunSelf({"capture", "--db", db, "--outbox", outbox, "--status"}));
    Say("owsync outbox verify:");
    OWSYNC_RETURN_IF_ERROR(RunSelf({"outbox", "verify", outbox}));
    Say("owsync outbox stats:");
    OWSYNC_RETURN_IF_ERROR(RunSelf({"outbox", "stats", outbox}));
    summary_.push_back("capture: the changelog is drained empty and the outbox (" + outbox +
                       ") passes `outbox verify`");
    return Status::OK();
  }

  CliContext* ctx_;
  DemoFlags flags_;
  std::string dir_;
  std::unique_ptr<LocalPostgres> pg_;
  std::vector<std::string> summary_;
};

}  // namespace

void AddDemoCommand(CLI::App* app, CliContext* ctx) {
  auto flags = std::make_shared<DemoFlags>();
  CLI::App* cmd = app->add_subcommand(
      "demo",
      "Run owsync end to end on this machine with nothing configured: a private PostgreSQL 15 "
      "(provisioned with `db init`, a host role from `db add-host`, checked with `db check`), "
      "a sample Open WebUI database changed by an application-like writer while the capture "
      "sidecar runs, and the resulting outbox verified. Everything is removed at the end.");
  cmd->add_option("--seconds", flags->seconds, "How long the writer runs (default 10)");
  cmd->add_option("--rate", flags->rate, "Writer transactions per second (default 200)");
  cmd->add_flag("--keep", flags->keep, "Keep the working directory (database, outbox, logs)");
  cmd->callback([ctx, flags] {
    Demo demo(ctx, *flags);
    Status s = demo.Run();
    if (!s.ok()) {
      std::cerr << "owsync demo: " << s.ToString() << "\n";
      ctx->exit_code = 1;
      return;
    }
    std::cout << "demo: done\n";
  });
}

}  // namespace owsync::cli
