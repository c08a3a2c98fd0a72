// PgTestEnv: the real PostgreSQL every *_pg_test binary runs against (tests/testing_main.cc
// sets it up before the first test). It is the server named by OWSYNC_TEST_PG_URL when set
// (`owsync testenv -- ctest ...` shares one per run), otherwise a private LocalPostgres this
// process starts and removes at exit, also on failure, SIGINT/SIGTERM/SIGHUP or abort(); after
// a hard crash or SIGKILL the server still stops (PR_SET_PDEATHSIG) but its directory stays.
// Failing to get a server fails the binary; no test is ever skipped for lack of one.
//
// Several test binaries may share the server at once (ctest -j2): every test works in its own
// database (CreateDatabase) and names cluster-wide objects (roles, hosts) with UniqueName.
// Tests that stop or restart PostgreSQL start their own server (StartPrivatePostgres), never
// the shared one. Thread-safe.
#ifndef OWSYNC_TESTS_PG_TEST_ENV_H_
#define OWSYNC_TESTS_PG_TEST_ENV_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/local_pgbouncer.h"
#include "cli/local_postgres.h"
#include "shipper/pg_connection.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/logger.h"
#include "util/result.h"

namespace owsync::tests {

struct TestDatabase {
  std::string name;       // unique, e.g. "t_dbinit_12345_7"
  std::string admin_url;  // the administrator's URL of this database
};

// A host registered with `db add-host` in a test database, and how to log in as its role.
struct TestHost {
  std::string name, cluster, role, password, host_id;
  std::string url;  // the host role's URL of the test database (password included)
};

class PgTestEnv {
 public:
  // The process's environment; never null once testing_main has set it up.
  static PgTestEnv* Get();

  // Attaches to OWSYNC_TEST_PG_URL, or starts a private server.
  static Result<std::unique_ptr<PgTestEnv>> Create();
  // Makes `env` the one Get() returns (nullptr to clear). Called by testing_main.
  static void Install(PgTestEnv* env);
  ~PgTestEnv();

  // Trusted administrator URL (database "postgres").
  const std::string& admin_url() const { return admin_url_; }
  // The same server as another user and database (password optional).
  std::string UrlFor(const std::string& user, const std::optional<std::string>& password,
                     const std::string& dbname) const;
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  // PostgreSQL's bindir (OWSYNC_TEST_PG_BINDIR, else the local server's).
  const std::string& bindir() const { return bindir_; }

  FileSystem* fs() { return fs_.get(); }
  Clock* clock() { return clock_.get(); }
  Logger* logger() { return logger_.get(); }

  // A name unique across processes sharing the server: "<prefix>_<pid>_<n>", lower-case,
  // at most 63 bytes. Use it for roles, hosts, clusters and clients.
  std::string UniqueName(std::string_view prefix);
  // A fresh empty database (from template1) named UniqueName("t_" + prefix); dropped when the
  // current test ends, or when the process ends if `for_whole_run` (a suite's shared fixture).
  Result<TestDatabase> CreateDatabase(std::string_view prefix, bool for_whole_run = false);
  // Drops the databases created since the last call (testing_main calls it after each test).
  void DropTestDatabases();

  // Runs `owsync db init` on `db` (idempotent) and registers a host UniqueName(prefix) in
  // `cluster` ("" = a cluster named like the host) with its own login role (`db add-host`).
  Result<TestHost> AddHost(const TestDatabase& db, std::string_view prefix,
                           const std::string& cluster = "");

  // An administrator connection with a 30 s connect deadline.
  Result<shipper::PgConnection> ConnectAdmin(const std::string& url);

  // The harness's own server, or null when attached to OWSYNC_TEST_PG_URL. Never stop or
  // restart it: other tests run against it. See StartPrivatePostgres.
  cli::LocalPostgres* local_postgres() { return local_.get(); }
  // A new private server for tests that stop, restart or break it; removed when destroyed.
  Result<std::unique_ptr<cli::LocalPostgres>> StartPrivatePostgres();
  // A pgbouncer in transaction mode in front of the shared server.
  Result<std::unique_ptr<cli::LocalPgBouncer>> StartPgBouncer(int default_pool_size = 10);

  // Stops and removes the harness's own server at once (signal handling); idempotent.
  void EmergencyStop();

 private:
  PgTestEnv();
  std::unique_ptr<FileSystem> fs_;
  std::unique_ptr<Clock> clock_;
  std::unique_ptr<Logger> logger_;
  std::unique_ptr<cli::LocalPostgres> local_;
  std::string admin_url_;
  std::string host_;
  int port_ = 0;
  std::string bindir_;
  std::mutex mu_;
  int counter_ = 0;
  std::vector<std::string> databases_;      // created since the last DropTestDatabases
  std::vector<std::string> run_databases_;  // dropped at the end of the run
};

}  // namespace owsync::tests

#endif  // OWSYNC_TESTS_PG_TEST_ENV_H_
