// RunCli: runs `owsync <args>` in-process through the same wiring as the binary
// (cli/owsync_app.h) with a given filesystem, clock, logger and environment, capturing stdout
// and stderr. For tests that check what a command prints and returns without a subprocess.
#ifndef OWSYNC_TESTS_CLI_RUNNER_H_
#define OWSYNC_TESTS_CLI_RUNNER_H_

#include <map>
#include <string>
#include <vector>

#include "util/clock.h"
#include "util/file_system.h"
#include "util/logger.h"

namespace owsync::tests {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// `env` is the whole environment the command sees (nothing of the test process's own).
CliRun RunCli(const std::vector<std::string>& args, FileSystem* fs, Clock* clock, Logger* logger,
              const std::map<std::string, std::string>& env = {});

}  // namespace owsync::tests

#endif  // OWSYNC_TESTS_CLI_RUNNER_H_
