// LocalPostgres: a private PostgreSQL 15 server for tests, the demo and `owsync testenv`.
//
// Start() makes a fresh directory (PrivateDir under $TMPDIR or /tmp) holding the data
// directory, the Unix socket, pg_hba.conf and the logs; runs initdb (superuser owsync_admin,
// UTF8, locale C); and starts `postgres` directly (fork + exec, no shell) listening on
// 127.0.0.1 only, on a free port, with fsync on. initdb and postgres refuse to run as root: as
// root, the directory is handed to the `postgres` account (else `nobody`) and both run as it.
//
// Authentication (pg_hba.conf): owsync_admin is trusted on loopback and on the socket; every
// other role must log in with scram-sha-256 on 127.0.0.1 (so generated host passwords are
// really checked); nothing else is accepted.
//
// Lifetime: the destructor (or Stop) stops the server (immediate shutdown, then SIGKILL) and
// removes the directory. The server gets SIGQUIT if the thread that started it
// exits (so a killed test run leaves no server behind): start it from a long-lived thread.
// Thread-safe: Stop may be called from another thread (a signal watcher) at any time.
#ifndef OWSYNC_CLI_LOCAL_POSTGRES_H_
#define OWSYNC_CLI_LOCAL_POSTGRES_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/child_process.h"
#include "cli/private_dir.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/logger.h"
#include "util/result.h"

namespace owsync::cli {

enum class StopMode {
  kFast,       // SIGINT: roll back sessions, checkpoint, exit
  kImmediate,  // SIGQUIT: exit at once; crash recovery on the next start
};

struct LocalPostgresOptions {
  FileSystem* fs = nullptr;  // required; must outlive the server
  Clock* clock = nullptr;    // required (a real clock)
  Logger* logger = nullptr;  // optional
  // "" finds the binaries: /usr/lib/postgresql/15/bin if present, else `pg_config --bindir`.
  std::string bindir;
  int max_connections = 150;
  std::string shared_buffers = "32MB";
  // Extra server settings, passed as `-c name=value`.
  std::vector<std::pair<std::string, std::string>> settings;
  int64_t start_timeout_micros = 60'000'000;
  int64_t stop_timeout_micros = 30'000'000;
};

class LocalPostgres {
 public:
  static constexpr const char* kAdminUser = "owsync_admin";
  static constexpr const char* kHost = "127.0.0.1";

  static Result<std::unique_ptr<LocalPostgres>> Start(const LocalPostgresOptions& options);
  ~LocalPostgres();
  LocalPostgres(const LocalPostgres&) = delete;
  LocalPostgres& operator=(const LocalPostgres&) = delete;

  // postgresql://owsync_admin@127.0.0.1:<port>/postgres (trusted, no password).
  std::string admin_url() const;
  std::string UrlFor(const std::string& user, const std::optional<std::string>& password,
                     const std::string& dbname) const;
  int port() const { return port_; }
  const std::string& bindir() const { return bindir_; }
  const std::string& dir() const { return dir_path_; }
  std::string data_dir() const;
  std::string log_path() const;
  // The account the server runs as when we are root (nullopt: as ourselves).
  const std::optional<UserIdentity>& server_user() const { return run_as_; }
  bool running() const;

  // Stops the server, keeping its data (an outage); StartServer brings it back on the same
  // data directory and port. Restart does both.
  [[nodiscard]] Status StopServer(StopMode mode = StopMode::kFast);
  [[nodiscard]] Status StartServer();
  [[nodiscard]] Status Restart(StopMode mode = StopMode::kFast);
  // Stops the server and removes its directory; the object is then inert. Idempotent.
  // Immediate by default: a shutdown checkpoint of data about to be deleted is wasted time.
  [[nodiscard]] Status Stop(StopMode mode = StopMode::kImmediate);
  // Stop, but keep the directory (for inspection after a failure); returns its path.
  std::string StopAndKeepDirectory();

 private:
  explicit LocalPostgres(const LocalPostgresOptions& options) : options_(options) {}
  Status Init();
  Status RunInitdb();
  Status WriteHba();
  Status StartLocked(bool may_change_port);
  Status LaunchOnce(std::string* log_since_start);
  Status StopLocked(StopMode mode);
  std::vector<std::string> ServerEnvironment() const;
  std::string LogTail(const std::string& path, int lines) const;

  LocalPostgresOptions options_;
  std::string bindir_;
  std::optional<UserIdentity> run_as_;
  std::optional<PrivateDir> dir_;
  std::string dir_path_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::optional<ChildProcess> server_;
  bool removed_ = false;
};

// A loopback TCP port nobody listens on right now (bind to port 0). Another process may take
// it before we use it: callers retry.
Result<int> PickFreeLoopbackPort();

// Hands `path` to `user` (chown) when set; no-op otherwise.
[[nodiscard]] Status GiveToUser(const std::string& path, const std::optional<UserIdentity>& user);

// The last `lines` lines of `text`.
std::string LastLines(const std::string& text, int lines);

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_LOCAL_POSTGRES_H_
