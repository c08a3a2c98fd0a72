// ShipTestFixture: one tenant end to end for the shipper's integration tests: a real SQLite
// database, a real PostgreSQL test database with `db init` done and a registered host, and the
// real `owsync` commands run in-process (provision as the administrator; capture; ship, verify
// and replay as the host's runtime role). Helpers read PostgreSQL as the administrator.
#ifndef OWSYNC_TESTS_SHIP_TEST_FIXTURE_H_
#define OWSYNC_TESTS_SHIP_TEST_FIXTURE_H_

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/verifier.h"
#include "tests/cli_runner.h"
#include "tests/pg_test_env.h"
#include "util/scoped_temp_dir.h"

namespace owsync::tests {

using Rows = std::vector<std::vector<std::optional<std::string>>>;

class ShipTestFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  // Tests through a transaction pooler (Supabase's port 6543 behaves the same) override this:
  // then every command runs as the host's role through a pgbouncer in transaction mode.
  virtual bool UsePgBouncer() const { return false; }
  void TearDown() override;

  // The tenant database (created empty, WAL) and its outbox.
  std::string db_path() const { return dir_->Child("webui.db"); }
  std::string outbox_root() const { return dir_->Child("outbox"); }
  std::string outbox_dir() const { return outbox_root() + "/" + client_; }

  // Runs SQL on the tenant database (the application); fails the test on error.
  void Sql(const std::string& sql);
  sqlite3* db() { return db_; }
  // Creates the tenant database from an Open WebUI fixture ("v0.6.31", "v0.11.0").
  void InitFromFixture(const std::string& name);

  // `owsync <args>` (the real binary, in a child process; out and err both hold its output)
  // with the environment of this host (DATABASE_URL = its runtime role,
  // ADMIN_DATABASE_URL, HOST_NAME, CLUSTER_NAME, a short lease) plus `env`.
  CliRun Owsync(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env = {});
  // The same, but a command still running after `timeout_micros` is killed (SIGKILL) and its
  // exit_code is -2: for commands that must end by themselves (a tenant that cannot go on).
  CliRun OwsyncWithin(const std::vector<std::string>& args, int64_t timeout_micros,
                      const std::map<std::string, std::string>& env = {});
  // The environment Owsync() runs the binary with, plus `env` (NAME=VALUE entries).
  std::vector<std::string> OwsyncEnvironment(const std::map<std::string, std::string>& env = {});
  // `owsync <args>` started in the background with that environment (long-running commands:
  // continuous capture, ship, workload), its output appended to dir_/<log_name>. The handle
  // kills it (SIGKILL) if it still runs when destroyed.
  Result<cli::ChildProcess> StartOwsync(const std::vector<std::string>& args,
                                        const std::string& log_name,
                                        const std::map<std::string, std::string>& env = {});
  CliRun Provision(bool migrate = false);
  CliRun Capture();  // capture --once
  CliRun Ship();     // ship --once
  CliRun Verify(bool strict = false);

  // What ExpectOnlyUnseenDeletes counted in a verify report.
  struct VerifyCounts {
    int64_t rows = 0;
    int64_t unseen_deletes = 0;
    int64_t dead_letters = 0;
  };
  // Expects no table problem in `report` and that every difference not tolerated (dead letters,
  // conflicts) is an extra row the application's INSERT OR REPLACE deleted without a trigger
  // (`victim_keys`: "<table> <record key JSON>"), which only a re-snapshot tombstones.
  VerifyCounts ExpectOnlyUnseenDeletes(const cli::VerifyReport& report,
                                       const std::set<std::string>& victim_keys);

  // A query as the administrator; values as text (nullopt = NULL).
  Rows Query(const std::string& sql, const std::vector<std::optional<std::string>>& params = {});
  std::string Table(const std::string& table);  // "client"."table", quoted

  PgTestEnv* env_ = nullptr;
  std::optional<TestDatabase> pg_;
  std::optional<TestHost> host_;
  std::string runtime_url_;  // the host role's URL the commands use (maybe via pgbouncer)
  std::unique_ptr<cli::LocalPgBouncer> bouncer_;
  std::string client_;
  std::optional<ScopedTempDir> dir_;
  sqlite3* db_ = nullptr;
  int runs_ = 0;
};

}  // namespace owsync::tests

#endif  // OWSYNC_TESTS_SHIP_TEST_FIXTURE_H_
