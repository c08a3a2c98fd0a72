// LocalPgBouncer: a private pgbouncer in transaction-pool mode (or another pool_mode) in front
// of a PostgreSQL server (usually a LocalPostgres), on a free loopback port, for tests that need
// Supabase's transaction pooler (no session state across transactions) or a connection they can
// cut.
//
// Authentication (auth_type = hba): owsync_admin is trusted on loopback (and pgbouncer logs in
// to the server as it, trusted there too); every other role logs in with scram-sha-256, checked
// against the server's own verifier fetched with auth_query as owsync_admin, and pgbouncer
// then logs in to the server with the SCRAM keys of that exchange. Roles created after start
// (db add-host) work at once. The admin console is the database "pgbouncer".
//
// Runs as the same unprivileged account as LocalPostgres when we are root. Its directory
// (config, log) is removed on Stop/destruction.
#ifndef OWSYNC_CLI_LOCAL_PGBOUNCER_H_
#define OWSYNC_CLI_LOCAL_PGBOUNCER_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "cli/child_process.h"
#include "cli/private_dir.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/logger.h"
#include "util/result.h"

namespace owsync::cli {

class LocalPostgres;

struct LocalPgBouncerOptions {
  FileSystem* fs = nullptr;  // required
  Clock* clock = nullptr;    // required (a real clock)
  Logger* logger = nullptr;  // optional
  std::string server_host = "127.0.0.1";
  int server_port = 0;                      // required
  std::string admin_user = "owsync_admin";  // trusted by the server; runs auth_query
  std::string binary = "/usr/sbin/pgbouncer";
  int default_pool_size = 10;  // server connections per (database, user)
  int max_client_conn = 200;
  std::string pool_mode = "transaction";  // or "session", "statement"
  int64_t start_timeout_micros = 30'000'000;

  // Options for a pgbouncer in front of `pg`.
  static LocalPgBouncerOptions For(const LocalPostgres& pg, FileSystem* fs, Clock* clock);
};

class LocalPgBouncer {
 public:
  static Result<std::unique_ptr<LocalPgBouncer>> Start(const LocalPgBouncerOptions& options);
  ~LocalPgBouncer();
  LocalPgBouncer(const LocalPgBouncer&) = delete;
  LocalPgBouncer& operator=(const LocalPgBouncer&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_path_; }
  std::string UrlFor(const std::string& user, const std::optional<std::string>& password,
                     const std::string& dbname) const;
  // The admin console (database "pgbouncer") as the admin user.
  std::string admin_console_url() const;

  // Freezes pgbouncer (SIGSTOP): every client connection through it hangs as on a network
  // partition, new connections hang too. Resume (SIGCONT) lets everything continue.
  [[nodiscard]] Status Pause();
  [[nodiscard]] Status Resume();
  bool paused() const;
  // Kills pgbouncer (SIGKILL, like a crash): every connection through it breaks at once. Its
  // directory stays; Restart() starts it again on the same port.
  [[nodiscard]] Status Kill();
  [[nodiscard]] Status Restart();
  // Stops pgbouncer (immediate shutdown) and removes its directory. Idempotent.
  [[nodiscard]] Status Stop();

 private:
  explicit LocalPgBouncer(const LocalPgBouncerOptions& options) : options_(options) {}
  Status WriteConfig();
  Status Launch(std::string* log_since_start);

  LocalPgBouncerOptions options_;
  std::optional<UserIdentity> run_as_;
  std::optional<PrivateDir> dir_;
  std::string dir_path_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::optional<ChildProcess> process_;
  bool paused_ = false;
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_LOCAL_PGBOUNCER_H_
