// Placeholder until its owner fills it: registers no subcommand.
#include "cli/cli_context.h"

namespace owsync::cli {

void AddTestenvCommand(CLI::App*, CliContext*) {}

}  // namespace owsync::cli
