#include "cli/owsync_app.h"

#include <CLI/CLI.hpp>

namespace owsync::cli {

int RunOwsync(int argc, const char* const* argv, CliContext* ctx) {
  CLI::App app{
      "owsync: change-data capture from Open WebUI's SQLite databases into PostgreSQL.\n"
      "Every committed SQLite change is captured into a local outbox and shipped to PostgreSQL\n"
      "exactly once. Secrets are read from files or the environment (*_FILE), never argv.",
      "owsync"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "owsync 0.1.0");
  AddDemoCommand(&app, ctx);
  AddDbCommands(&app, ctx);
  AddProvisionCommand(&app, ctx);
  AddShipCommands(&app, ctx);
  AddStatusCommand(&app, ctx);
  AddTriggerCommand(&app, ctx);
  AddCaptureCommand(&app, ctx);
  AddOutboxCommands(&app, ctx);
  AddVerifyCommand(&app, ctx);
  AddWorkloadCommand(&app, ctx);
  AddTestenvCommand(&app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return ctx->exit_code;
}

}  // namespace owsync::cli
