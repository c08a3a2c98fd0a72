// `owsync workload`: an application-like writer for an Open WebUI database (see
// cli/workload_generator.h), for chaos tests, the demo and benchmarks. SIGTERM or SIGINT stops
// it after the current transaction; it then prints its counts and exits 0.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>

#include "cli/cli_context.h"
#include "cli/workload_generator.h"

namespace owsync::cli {
namespace {

// Set by the signal handler: a signal handler can reach nothing else (lock-free atomic).
std::atomic<bool> g_stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void OnStopSignal(int) { g_stop_requested.store(true); }

struct WorkloadFlags {
  WorkloadOptions options;
  std::string schema = "v0.11.0";
  bool init = false;
  int64_t ops = 0;
  double seconds = 0;
};

// Installed first: a stop signal that arrives while the database is still being opened must
// still end the run cleanly (exit 0 with counts), not kill the process.
void InstallStopHandler() {
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

int RunWorkload(const WorkloadFlags& flags, CliContext* ctx) {
  InstallStopHandler();
  if (flags.init) {
    Status s = WorkloadGenerator::InitDatabase(flags.options.db_path, flags.schema,
                                               flags.options.journal_mode);
    if (!s.ok()) {
      ctx->logger->Error("workload --init: {}", s.ToString());
      return 1;
    }
    ctx->logger->Info("workload: created {} from the {} schema", flags.options.db_path,
                      flags.schema);
    if (flags.ops == 0 && flags.seconds == 0) return 0;
  }
  WorkloadOptions options = flags.options;
  options.max_transactions = flags.ops;
  options.max_seconds = flags.seconds;
  auto generator = WorkloadGenerator::Open(ctx->fs, ctx->clock, options);
  if (!generator.ok()) {
    ctx->logger->Error("workload: {}", generator.status().ToString());
    return 1;
  }
  // Harnesses wait for this line: from here on a stop signal ends the run after a transaction.
  ctx->logger->Info("workload: writing to {}{}", options.db_path,
                    flags.ops == 0 && flags.seconds == 0 ? " until SIGTERM/SIGINT" : "");
  int64_t start = ctx->clock->MonotonicMicros();
  Status s = (*generator)->Run(&g_stop_requested);
  double elapsed = static_cast<double>(ctx->clock->MonotonicMicros() - start) / 1e6;
  const WorkloadCounts& counts = (*generator)->counts();
  std::cout << "workload: seed=" << options.seed << " elapsed_s=" << elapsed << " "
            << counts.ToString() << std::endl;
  if (!counts.last_constraint_error.empty()) {
    ctx->logger->Info("workload: last constraint rollback: {}", counts.last_constraint_error);
  }
  if (!s.ok()) {
    ctx->logger->Error("workload: {}", s.ToString());
    return 1;
  }
  return 0;
}

}  // namespace

void AddWorkloadCommand(CLI::App* app, CliContext* ctx) {
  auto flags = std::make_shared<WorkloadFlags>();
  CLI::App* cmd = app->add_subcommand(
      "workload",
      "Write to an Open WebUI SQLite database like the application does: random transactions "
      "of inserts, updates, upserts, key changes, INSERT OR REPLACE (also colliding through a "
      "secondary UNIQUE constraint) and deletes, with realistic and odd values. Deterministic "
      "from --seed. Prints the count of each operation at the end.");
  cmd->add_option("--db", flags->options.db_path, "SQLite database file")->required();
  cmd->add_option("--schema", flags->schema, "Fixture schema for --init: v0.6.31 or v0.11.0")
      ->check(CLI::IsMember({"v0.6.31", "v0.11.0"}));
  cmd->add_flag("--init", flags->init, "Create the database from the --schema fixture first");
  cmd->add_option("--seconds", flags->seconds, "Stop after this many seconds");
  cmd->add_option("--ops", flags->ops, "Stop after this many transactions");
  cmd->add_option("--rate", flags->options.rate, "Transactions per second (default: unpaced)");
  cmd->add_option("--seed", flags->options.seed, "Random seed (default 1)");
  cmd->add_option("--journal", flags->options.journal_mode, "Set journal_mode: delete or wal")
      ->check(CLI::IsMember({"delete", "wal"}));
  cmd->add_option("--synchronous", flags->options.synchronous,
                  "Set synchronous: full, normal or off (off: fast setup, not crash-safe)")
      ->check(CLI::IsMember({"full", "normal", "off"}));
  cmd->add_option("--odd-rate", flags->options.odd_rate,
                  "Share of odd values (NUL bytes, invalid UTF-8, NaN, ...), default 0.02")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--victims", flags->options.victims_path,
                  "Append the keys of rows deleted by INSERT OR REPLACE collisions to this file");
  cmd->callback([flags, ctx] { ctx->exit_code = RunWorkload(*flags, ctx); });
}

}  // namespace owsync::cli
