// CliContext: what every `owsync` subcommand gets from main(): the filesystem, the clock, the
// logger, the environment, and where to put its exit code. Owned by main(); outlives commands.
#ifndef OWSYNC_CLI_CLI_CONTEXT_H_
#define OWSYNC_CLI_CLI_CONTEXT_H_

#include <functional>
#include <optional>
#include <string>

#include "util/clock.h"
#include "util/file_system.h"
#include "util/logger.h"

namespace CLI {
class App;
}

namespace owsync::cli {

struct CliContext {
  FileSystem* fs = nullptr;
  Clock* clock = nullptr;
  Logger* logger = nullptr;
  // Reads an environment variable (tests substitute their own).
  std::function<std::optional<std::string>(const std::string&)> getenv;
  int exit_code = 0;
};

// Each adds its subcommands to `app`; the callbacks set ctx->exit_code.
void AddDbCommands(CLI::App* app, CliContext* ctx);        // cli/db_command.cc
void AddTestenvCommand(CLI::App* app, CliContext* ctx);    // cli/testenv_command.cc
void AddDemoCommand(CLI::App* app, CliContext* ctx);       // cli/demo_command.cc
void AddCaptureCommand(CLI::App* app, CliContext* ctx);    // cli/capture_command.cc
void AddOutboxCommands(CLI::App* app, CliContext* ctx);    // cli/outbox_command.cc
void AddWorkloadCommand(CLI::App* app, CliContext* ctx);   // cli/workload_command.cc
void AddVerifyCommand(CLI::App* app, CliContext* ctx);     // cli/verify_command.cc
void AddProvisionCommand(CLI::App* app, CliContext* ctx);  // cli/provision_command.cc
void AddShipCommands(CLI::App* app, CliContext* ctx);   // cli/ship_command.cc: ship, replay, tenant
void AddStatusCommand(CLI::App* app, CliContext* ctx);  // cli/status_command.cc
void AddTriggerCommand(CLI::App* app, CliContext* ctx);  // cli/trigger_command.cc

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_CLI_CONTEXT_H_
