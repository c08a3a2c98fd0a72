// `owsync testenv [--keep] -- CMD ARGS...`: runs CMD with a private PostgreSQL 15 server
// (LocalPostgres) for its whole duration. CMD gets OWSYNC_TEST_PG_URL (the administrator URL)
// and OWSYNC_TEST_PG_BINDIR. SIGINT/SIGTERM/SIGHUP sent to owsync are forwarded to CMD; the
// server is stopped and its directory removed however CMD ends (--keep keeps the directory).
// The exit code is CMD's (128 + signal when it was killed).
#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/child_process.h"
#include "cli/cli_context.h"
#include "cli/local_postgres.h"

namespace owsync::cli {
namespace {

// Seconds CMD gets to exit after a forwarded signal before it is killed.
constexpr int64_t kForwardGraceMicros = 30'000'000;

struct TestenvArgs {
  bool keep = false;
  std::vector<std::string> command;
};

int RunTestenv(const TestenvArgs& args, CliContext* ctx) {
  // Signals are taken synchronously (sigtimedwait) so they can be forwarded; children get an
  // empty mask back (ChildProcess).
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&sigs, s);
  sigset_t old_mask;
  pthread_sigmask(SIG_BLOCK, &sigs, &old_mask);

  LocalPostgresOptions options;
  options.fs = ctx->fs;
  options.clock = ctx->clock;
  options.logger = ctx->logger;
  auto pg = LocalPostgres::Start(options);
  if (!pg.ok()) {
    std::cerr << "owsync testenv: cannot start PostgreSQL: " << pg.status().ToString() << "\n";
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    return 2;
  }
  std::cerr << "owsync testenv: PostgreSQL " << (*pg)->bindir() << " at " << (*pg)->admin_url()
            << " (" << (*pg)->dir() << ")\n";

  ChildProcessOptions child_options;
  child_options.argv = args.command;
  child_options.search_path = true;
  child_options.env = EnvironmentWith(
      {"OWSYNC_TEST_PG_URL=" + (*pg)->admin_url(), "OWSYNC_TEST_PG_BINDIR=" + (*pg)->bindir()});
  auto child = ChildProcess::Start(child_options);
  int exit_code = 127;
  if (!child.ok()) {
    std::cerr << "owsync testenv: " << child.status().ToString() << "\n";
  } else {
    int64_t kill_at = 0;
    while (true) {
      auto st = child->TryWait();
      if (!st.ok()) {
        std::cerr << "owsync testenv: " << st.status().ToString() << "\n";
        exit_code = 1;
        break;
      }
      if (st->has_value()) {
        exit_code = ExitCodeOf(**st);
        if (exit_code != 0) {
          std::cerr << "owsync testenv: " << args.command[0] << " " << DescribeWaitStatus(**st)
                    << "\n";
        }
        break;
      }
      if (kill_at != 0 && ctx->clock->MonotonicMicros() >= kill_at) {
        std::cerr << "owsync testenv: " << args.command[0] << " ignored the signal; killing it\n";
        auto killed = child->Signal(SIGKILL);
        (void)killed;
        kill_at = 0;
      }
      siginfo_t info{};
      timespec wait{0, 200'000'000};
      const int sig = sigtimedwait(&sigs, &info, &wait);
      if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
        // A terminal's Ctrl-C (SI_KERNEL) already reached CMD, which shares our process group.
        if (info.si_code != SI_KERNEL) {
          auto forwarded = child->Signal(sig);
          (void)forwarded;
        }
        if (kill_at == 0) kill_at = ctx->clock->MonotonicMicros() + kForwardGraceMicros;
      }
    }
  }

  if (args.keep) {
    std::cerr << "owsync testenv: server stopped; directory kept: " << (*pg)->StopAndKeepDirectory()
              << "\n";
  } else {
    Status stopped = (*pg)->Stop();
    if (!stopped.ok()) {
      std::cerr << "owsync testenv: stopping PostgreSQL: " << stopped.ToString() << "\n";
      if (exit_code == 0) exit_code = 1;
    }
  }
  pg->reset();
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  return exit_code;
}

}  // namespace

void AddTestenvCommand(CLI::App* app, CliContext* ctx) {
  auto args = std::make_shared<TestenvArgs>();
  CLI::App* sub = app->add_subcommand(
      "testenv",
      "Run a command with a private PostgreSQL 15 server.\n"
      "Starts a throw-away cluster (initdb in a temporary directory, 127.0.0.1 on a free port,\n"
      "fsync on; as root it runs as the 'postgres' account), exports OWSYNC_TEST_PG_URL (the\n"
      "trusted administrator URL) and OWSYNC_TEST_PG_BINDIR to the command, forwards\n"
      "SIGINT/SIGTERM/SIGHUP to it, then stops the server and removes its directory however\n"
      "the command ends. Exits with the command's exit code.\n"
      "Example: owsync testenv -- ctest --test-dir build -j2");
  sub->add_flag("--keep", args->keep,
                "Keep the server's directory (data, logs) after the command ends; its path is "
                "printed");
  sub->add_option("command", args->command, "The command and its arguments (after --)")->required();
  sub->callback([args, ctx]() { ctx->exit_code = RunTestenv(*args, ctx); });
}

}  // namespace owsync::cli
