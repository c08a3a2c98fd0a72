// RunCli: runs `owsync <args>` in-process (the same CLI11 wiring as cli/owsync_main.cc, for the
// commands tests drive: db, testenv, provision, ship/replay/tenant, verify, capture, outbox,
// workload, status, trigger) with a given environment, capturing stdout and stderr.
#ifndef OWSYNC_TESTS_CLI_RUNNER_H_
#define OWSYNC_TESTS_CLI_RUNNER_H_

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

#include "cli/cli_context.h"

namespace owsync::tests {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline CliRun RunCli(const std::vector<std::string>& args, FileSystem* fs, Clock* clock,
                     Logger* logger, const std::map<std::string, std::string>& env = {}) {
  cli::CliContext ctx;
  ctx.fs = fs;
  ctx.clock = clock;
  ctx.logger = logger;
  ctx.getenv = [env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  CLI::App app{"owsync", "owsync"};
  app.require_subcommand(1);
  cli::AddDbCommands(&app, &ctx);
  cli::AddProvisionCommand(&app, &ctx);
  cli::AddTestenvCommand(&app, &ctx);
  cli::AddStatusCommand(&app, &ctx);
  cli::AddTriggerCommand(&app, &ctx);
  std::vector<std::string> argv_storage = {"owsync"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const auto& a : argv_storage) argv.push_back(a.c_str());
  CliRun run;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
    run.exit_code = ctx.exit_code;
  } catch (const CLI::ParseError& e) {
    run.exit_code = app.exit(e);
  }
  run.out = ::testing::internal::GetCapturedStdout();
  run.err = ::testing::internal::GetCapturedStderr();
  return run;
}

}  // namespace owsync::tests

#endif  // OWSYNC_TESTS_CLI_RUNNER_H_
