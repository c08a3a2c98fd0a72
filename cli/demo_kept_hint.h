// DemoKeptHint: what `owsync demo --keep` prints at the end: where the kept files are, and how
// to start the kept PostgreSQL again, look at the tenant with psql and run verify by hand.
// Plain data; Lines() formats.
#ifndef OWSYNC_CLI_DEMO_KEPT_HINT_H_
#define OWSYNC_CLI_DEMO_KEPT_HINT_H_

#include <string>
#include <vector>

#include "cli/local_postgres.h"

namespace owsync::cli {

struct DemoKeptHint {
  std::string work_dir;  // the demo's working directory (webui.db, outbox/, logs, host.url)
  std::string client;
  std::string pg_dir;  // PostgreSQL's kept directory, its data directory and binaries
  std::string data_dir;
  std::string bindir;
  std::string run_as;  // "runuser -u postgres -- " when the server must not run as root
  int port = 0;

  // Stops `pg` keeping its directory, and describes how to use what was kept.
  static DemoKeptHint StopAndKeep(LocalPostgres* pg, std::string work_dir, std::string client);
  std::vector<std::string> Lines() const;
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_DEMO_KEPT_HINT_H_
