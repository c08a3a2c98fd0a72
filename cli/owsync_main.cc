// owsync: the single binary. `owsync --help` lists the subcommands; each has its own --help.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/cli_context.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/logger.h"

int main(int argc, char** argv) {
  auto fs = owsync::NewPosixFileSystem();
  auto clock = owsync::NewSystemClock();
  const char* level = std::getenv("LOG_LEVEL");
  auto logger = owsync::NewStderrLogger("owsync", owsync::ParseLogLevel(level ? level : "info"));

  owsync::cli::CliContext ctx;
  ctx.fs = fs.get();
  ctx.clock = clock.get();
  ctx.logger = logger.get();
  ctx.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };

  CLI::App app{
      "owsync: change-data capture from Open WebUI's SQLite databases into PostgreSQL.\n"
      "Every committed SQLite change is captured into a local outbox and shipped to PostgreSQL\n"
      "exactly once. Secrets are read from files or the environment (*_FILE), never argv.",
      "owsync"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "owsync 0.1.0");
  owsync::cli::AddDemoCommand(&app, &ctx);
  owsync::cli::AddDbCommands(&app, &ctx);
  owsync::cli::AddProvisionCommand(&app, &ctx);
  owsync::cli::AddShipCommands(&app, &ctx);
  owsync::cli::AddStatusCommand(&app, &ctx);
  owsync::cli::AddTriggerCommand(&app, &ctx);
  owsync::cli::AddCaptureCommand(&app, &ctx);
  owsync::cli::AddOutboxCommands(&app, &ctx);
  owsync::cli::AddVerifyCommand(&app, &ctx);
  owsync::cli::AddWorkloadCommand(&app, &ctx);
  owsync::cli::AddTestenvCommand(&app, &ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return ctx.exit_code;
}
