#include "cli/demo_kept_hint.h"

#include <fmt/format.h>
#include <unistd.h>

namespace owsync::cli {
namespace {

// This binary's path, for commands printed to be run by hand.
std::string SelfPath() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "owsync";
}

}  // namespace

DemoKeptHint DemoKeptHint::StopAndKeep(LocalPostgres* pg, std::string work_dir,
                                       std::string client) {
  DemoKeptHint h;
  h.work_dir = std::move(work_dir);
  h.client = std::move(client);
  h.bindir = pg->bindir();
  h.data_dir = pg->data_dir();
  h.pg_dir = pg->StopAndKeepDirectory();
  h.run_as = pg->server_user().has_value() ? "runuser -u " + pg->server_user()->name + " -- " : "";
  h.port = pg->port();
  return h;
}

std::vector<std::string> DemoKeptHint::Lines() const {
  const std::string outbox = JoinPath(work_dir, "outbox/" + client);
  return {"",
          "kept: " + work_dir + " (webui.db, outbox/, *.log, host.url) and PostgreSQL's " + pg_dir,
          "to look at the data, start the server again and use psql:",
          fmt::format("  {}{}/postgres -D {} -c port={} -c listen_addresses=127.0.0.1 -c "
                      "unix_socket_directories={} -c hba_file={}/pg_hba.conf &",
                      run_as, bindir, data_dir, port, pg_dir, pg_dir),
          fmt::format("  psql 'postgresql://owsync_admin@127.0.0.1:{}/postgres' -c 'SELECT id, "
                      "title FROM \"{}\".chat LIMIT 5'",
                      port, client),
          fmt::format("  DATABASE_URL_FILE={} {} verify --db {} --client {} --outbox {}",
                      JoinPath(work_dir, "host.url"), SelfPath(), JoinPath(work_dir, "webui.db"),
                      client, outbox),
          "  remove both directories when done (rm -rf)"};
}

}  // namespace owsync::cli
