// `owsync demo`: the README's first command ends here. On this machine, with nothing
// configured, it runs owsync end to end (cli/demo_run.h has the phases): a private
// PostgreSQL, a registered host, a sample Open WebUI database, provisioning, the capture
// sidecar and an HA pair of ship sidecars running while an application writes, a failover (the
// leader SIGKILLed mid-stream), catch-up, verify, and a summary.
// Ctrl-C (SIGINT) or SIGTERM stops the writer and every child, stops PostgreSQL and removes
// the files (exit 130); --keep keeps them. Exit 0 when verify passed, 1 otherwise.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>
#include <memory>

#include "cli/cli_context.h"
#include "cli/demo_run.h"
#include "cli/signal_watcher.h"

namespace owsync::cli {
namespace {

int RunDemo(const DemoOptions& options, CliContext* ctx) {
  std::atomic<bool> interrupted{false};
  // Before any thread exists: SIGINT/SIGTERM/SIGHUP go to the watcher, never kill us midway.
  SignalWatcher signals([&interrupted](int) { interrupted.store(true); });
  Status s;
  {
    DemoRun demo(ctx, options, &interrupted);
    s = demo.Run();
    if (!s.ok()) {
      std::cerr << "\nowsync demo: " << (interrupted.load() ? "interrupted" : s.ToString())
                << "\nowsync demo: stopping every process and cleaning up\n";
    }
    demo.Cleanup();
  }
  if (interrupted.load()) return 130;
  if (!s.ok()) return 1;
  std::cout << "owsync demo: done\n";
  return 0;
}

}  // namespace

void AddDemoCommand(CLI::App* app, CliContext* ctx) {
  auto options = std::make_shared<DemoOptions>();
  CLI::App* cmd = app->add_subcommand(
      "demo",
      "Run owsync end to end on this machine, with nothing configured (about a minute):\n"
      "  1. a private PostgreSQL 15 on 127.0.0.1 (initdb into a temporary directory), the\n"
      "     sync_metadata schema (`db init`), a host with its own login role (`db add-host`);\n"
      "  2. a sample Open WebUI database from the v0.11.0 schema: chats with large JSON, many\n"
      "     small messages, the other tables filled by an application-like writer;\n"
      "  3. `owsync provision` of the tenant 'demo' for that host;\n"
      "  4. `owsync capture --once` (the initial snapshot), then `owsync capture` and an HA\n"
      "     pair of `owsync ship` (ROLE=primary and ROLE=secondary, one lease, 5 s) as\n"
      "     continuous sidecars (ship logs in as the host role, its URL in a 0600 file) until\n"
      "     PostgreSQL has the snapshot;\n"
      "  5. the application writes for --seconds while they run: a progress line a second\n"
      "     (rows written, outbox durable offset, PostgreSQL acked offset, lag);\n"
      "  6. halfway, the leading ship node is SIGKILLed: the time until the other node's first\n"
      "     commit (the takeover) is measured, the killed node is restarted and must follow;\n"
      "  7. the writer stops, capture drains, ship catches up (acked == durable);\n"
      "  8. `verify` compares every table row by row; then a summary (throughput, lag, takeover\n"
      "     time, catch-up time, dead letters, conflicts, verify result).\n"
      "Every process is stopped and every file removed at the end, also on Ctrl-C, unless\n"
      "--keep. Exit 0 when verify passed, 1 on a failure, 130 when interrupted.");
  cmd->add_option("--seconds", options->seconds,
                  "How long the application writes while capture and ship run (default 20)")
      ->check(CLI::Range(1.0, 3600.0));
  cmd->add_option("--rate", options->rate,
                  "Application transactions per second while it writes (default 100)")
      ->check(CLI::Range(1.0, 100000.0));
  cmd->add_option("--chats", options->chats,
                  "Conversations in the sample database, 10 messages each (default 400)")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}));
  cmd->add_flag("--keep", options->keep,
                "Keep the working directory (webui.db, outbox, logs, host.url) and PostgreSQL's "
                "data, and print how to look at them with psql");
  cmd->callback([ctx, options] { ctx->exit_code = RunDemo(*options, ctx); });
}

}  // namespace owsync::cli
