// RunOwsync: the whole `owsync` command line, every subcommand (cli/cli_context.h) wired to one
// CliContext, parsed from argv and run. main() and the in-process test runner (tests/cli_runner.h)
// share it, so tests drive exactly the wiring operators use.
#ifndef OWSYNC_CLI_OWSYNC_APP_H_
#define OWSYNC_CLI_OWSYNC_APP_H_

#include "cli/cli_context.h"

namespace owsync::cli {

// Returns the exit code: the subcommand's (ctx->exit_code), or CLI11's for --help, --version
// and usage errors (which it prints). `ctx` must be filled in and outlive the call.
int RunOwsync(int argc, const char* const* argv, CliContext* ctx);

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_OWSYNC_APP_H_
