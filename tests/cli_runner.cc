#include "tests/cli_runner.h"

#include <gtest/gtest.h>

#include "cli/owsync_app.h"

namespace owsync::tests {

CliRun RunCli(const std::vector<std::string>& args, FileSystem* fs, Clock* clock, Logger* logger,
              const std::map<std::string, std::string>& env) {
  cli::CliContext ctx;
  ctx.fs = fs;
  ctx.clock = clock;
  ctx.logger = logger;
  ctx.getenv = [env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  std::vector<std::string> argv_storage = {"owsync"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const auto& a : argv_storage) argv.push_back(a.c_str());
  CliRun run;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  run.exit_code = cli::RunOwsync(static_cast<int>(argv.size()), argv.data(), &ctx);
  run.out = ::testing::internal::GetCapturedStdout();
  run.err = ::testing::internal::GetCapturedStderr();
  return run;
}

}  // namespace owsync::tests
