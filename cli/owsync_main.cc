// owsync: the single binary. `owsync --help` lists the subcommands; each has its own --help.
#include <cstdlib>

#include "cli/owsync_app.h"
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
  return owsync::cli::RunOwsync(argc, argv, &ctx);
}
