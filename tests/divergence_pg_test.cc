// No silent divergence: the ways PostgreSQL could end up different from SQLite while every
// command said all was well (issue 10), each reproduced through the real binary against a real
// SQLite file and a real PostgreSQL, and each now either converging by itself or stopping the
// tenant with a message that names the recovery.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "shipper/pg_url.h"
#include "tests/ship_test_fixture.h"

namespace owsync::tests {
namespace {

namespace fs = std::filesystem;

class DivergenceTest : public ShipTestFixture {
 protected:
  void CaptureShip() {
    CliRun c = Capture();
    ASSERT_EQ(c.exit_code, 0) << c.out;
    CliRun s = ShipWithin(120'000'000);
    ASSERT_EQ(s.exit_code, 0) << s.out;
  }
  void CaptureShipVerify() {
    ASSERT_NO_FATAL_FAILURE(CaptureShip());
    CliRun v = Verify();
    ASSERT_EQ(v.exit_code, 0) << v.out;
  }
  // `ship --once` that must end by itself within `micros` (exit code -2 if it did not).
  CliRun ShipWithin(int64_t micros, const std::map<std::string, std::string>& env = {}) {
    return OwsyncWithin({"ship", "--outbox-root", outbox_root(), "--once", "--lease-wait", "30"},
                        micros, env);
  }
  // A consistent copy of the tenant database (SQLite's backup API) and of its outbox, taken
  // while nothing writes: what a volume snapshot of the host holds.
  void Backup(const std::string& name) {
    sqlite3* to = nullptr;
    ASSERT_EQ(sqlite3_open(dir_->Child(name + ".db").c_str(), &to), SQLITE_OK);
    sqlite3_backup* b = sqlite3_backup_init(to, "main", db(), "main");
    ASSERT_NE(b, nullptr) << sqlite3_errmsg(to);
    ASSERT_EQ(sqlite3_backup_step(b, -1), SQLITE_DONE);
    ASSERT_EQ(sqlite3_backup_finish(b), SQLITE_OK);
    sqlite3_close(to);
    fs::copy(outbox_dir(), dir_->Child(name + ".outbox"), fs::copy_options::recursive);
  }
  // Puts both back as they were (the application is stopped meanwhile).
  void Restore(const std::string& name) {
    sqlite3_close(db_);
    db_ = nullptr;
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db_path() + suffix);
    fs::copy_file(dir_->Child(name + ".db"), db_path());
    fs::remove_all(outbox_dir());
    fs::copy(dir_->Child(name + ".outbox"), outbox_dir(), fs::copy_options::recursive);
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &db_), SQLITE_OK);
    Sql("PRAGMA journal_mode=WAL");
  }
  std::string LiveCount(const std::string& table) {
    Rows r = Query("SELECT count(*) FROM " + Table(table) + " WHERE _owsync_deleted_at IS NULL");
    return r.empty() || !r[0][0] ? "" : *r[0][0];
  }
  int64_t DeadLetters(const std::string& table) {
    Rows r = Query(
        "SELECT count(*) FROM sync_metadata.dead_letters WHERE client_name = $1 AND table_name "
        "= $2",
        {client_, table});
    return r.empty() || !r[0][0] ? -1 : std::stoll(*r[0][0]);
  }
};

// Hole 1: a VM or volume snapshot restores the database and the outbox together. Capture sees a
// consistent pair and resumes, so its new records reuse offsets PostgreSQL already acknowledged.
TEST_F(DivergenceTest, DatabaseAndOutboxRestoredTogetherStopTheTenantAndRecoverByRebase) {
  Sql("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT)");
  for (int i = 0; i < 10; ++i) Sql("INSERT INTO t VALUES ('k" + std::to_string(i) + "', 'a')");
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  ASSERT_NO_FATAL_FAILURE(Backup("snap"));
  // After the snapshot: more changes, shipped and acknowledged.
  for (int i = 10; i < 30; ++i) Sql("INSERT INTO t VALUES ('k" + std::to_string(i) + "', 'b')");
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());

  ASSERT_NO_FATAL_FAILURE(Restore("snap"));
  // The restored host goes on: more changes than PostgreSQL acknowledged past the snapshot.
  for (int i = 0; i < 60; ++i) Sql("INSERT INTO t VALUES ('n" + std::to_string(i) + "', 'c')");
  Sql("UPDATE t SET v = 'changed' WHERE id = 'k1'; DELETE FROM t WHERE id = 'k2'");
  ASSERT_EQ(Capture().exit_code, 0);
  CliRun s = ShipWithin(120'000'000);
  EXPECT_NE(s.exit_code, 0) << "PostgreSQL is ahead of the outbox: nothing may be skipped\n"
                            << s.out;
  EXPECT_NE(s.out.find("ahead of the outbox"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("owsync tenant rebase " + client_), std::string::npos) << s.out;

  // The documented recovery: capture starts a new generation above what PostgreSQL holds
  // (it reads the shipper's ACKED), then one `tenant rebase`.
  ASSERT_EQ(Capture().exit_code, 0);
  CliRun rebase = Owsync({"tenant", "rebase", client_, "--outbox", outbox_dir()});
  ASSERT_EQ(rebase.exit_code, 0) << rebase.out;
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  EXPECT_EQ(LiveCount("t"), "69");  // k0..k9 minus k2, n0..n59; k10..k29 tombstoned
}

// The same, caught before capture wrote past what PostgreSQL holds: the outbox ends below it.
TEST_F(DivergenceTest, RestoredOutboxEndingBelowTheAckedOffsetStopsTheTenantToo) {
  Sql("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT)");
  for (int i = 0; i < 10; ++i) Sql("INSERT INTO t VALUES ('k" + std::to_string(i) + "', 'a')");
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  ASSERT_NO_FATAL_FAILURE(Backup("snap"));
  for (int i = 10; i < 40; ++i) Sql("INSERT INTO t VALUES ('k" + std::to_string(i) + "', 'b')");
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  ASSERT_NO_FATAL_FAILURE(Restore("snap"));
  Sql("UPDATE t SET v = 'after restore' WHERE id = 'k1'");
  CliRun s = ShipWithin(120'000'000);
  EXPECT_NE(s.exit_code, 0) << s.out;
  EXPECT_NE(s.out.find("ahead of the outbox"), std::string::npos) << s.out;
  ASSERT_EQ(Capture().exit_code, 0);
  CliRun rebase = Owsync({"tenant", "rebase", client_, "--outbox", outbox_dir()});
  ASSERT_EQ(rebase.exit_code, 0) << rebase.out;
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  EXPECT_EQ(LiveCount("t"), "10");
}

// Hole 2: a column added with a DEFAULT gives every existing row that value without a change
// event; a capture restarted after the migration must still re-snapshot the table.
TEST_F(DivergenceTest, ColumnAddedWithDefaultWhileCaptureWasStoppedConverges) {
  Sql("CREATE TABLE message (id TEXT PRIMARY KEY, content TEXT)");
  for (int i = 0; i < 20; ++i)
    Sql("INSERT INTO message VALUES ('m" + std::to_string(i) + "', 'x')");
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  Sql("ALTER TABLE message ADD COLUMN is_pinned BOOLEAN DEFAULT 0 NOT NULL");
  ASSERT_NO_FATAL_FAILURE(CaptureShip());
  ASSERT_EQ(Provision(/*migrate=*/true).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  EXPECT_EQ(Query("SELECT count(*) FROM " + Table("message") + " WHERE is_pinned = false"),
            (Rows{{"20"}}));
}

TEST_F(DivergenceTest, KeyColumnRenamedWithoutRebuildFillsTheNewTable) {
  Sql("CREATE TABLE cfg (id TEXT PRIMARY KEY, v TEXT)");
  for (int i = 0; i < 30; ++i) Sql("INSERT INTO cfg VALUES ('k" + std::to_string(i) + "', 'v')");
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  Sql("ALTER TABLE cfg RENAME COLUMN id TO \"key\"; INSERT INTO cfg VALUES ('new', 'x')");
  ASSERT_EQ(Capture().exit_code, 0);
  EXPECT_NE(ShipWithin(120'000'000).exit_code, 0) << "the key changed: provision --migrate first";
  ASSERT_EQ(Provision(/*migrate=*/true).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  EXPECT_EQ(LiveCount("cfg"), "31");
}

TEST_F(DivergenceTest, OpenWebUiUpgradeWithMigrateEndsWithVerifyEqual) {
  ASSERT_NO_FATAL_FAILURE(InitFromFixture("v0.6.31"));
  ASSERT_EQ(Owsync({"workload", "--db", db_path(), "--ops", "300", "--seed", "3"}).exit_code, 0);
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  std::ifstream in(std::string(OWSYNC_FIXTURE_DIR) + "/upgrade-rebuilds.sql");
  std::stringstream upgrade;
  upgrade << in.rdbuf();
  ASSERT_FALSE(upgrade.str().empty());
  Sql(upgrade.str());
  ASSERT_EQ(Capture().exit_code, 0);
  EXPECT_NE(ShipWithin(120'000'000).exit_code, 0) << "api_key is new: provision --migrate first";
  ASSERT_EQ(Provision(/*migrate=*/true).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  ASSERT_EQ(Owsync({"workload", "--db", db_path(), "--ops", "300", "--seed", "4"}).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
}

// Hole 3: INSERT OR REPLACE through a secondary UNIQUE index deletes the other row without
// firing a delete trigger. Capture must see those deletes by itself (no --resnapshot).
TEST_F(DivergenceTest, ReplaceThroughSecondaryUniqueIndexesDeletesInPostgresToo) {
  Sql("CREATE TABLE person (id INTEGER PRIMARY KEY, email TEXT UNIQUE, name TEXT);"
      "CREATE TABLE account (id TEXT NOT NULL, email TEXT, api_key TEXT, UNIQUE (id), "
      "UNIQUE (api_key));"
      "CREATE UNIQUE INDEX account_email_lower ON account (lower(email));"
      "CREATE TABLE tag (id TEXT PRIMARY KEY, name TEXT COLLATE NOCASE UNIQUE);"
      "INSERT INTO person VALUES (1, 'a@x', 'one'), (2, 'b@x', 'two'), (3, 'c@x', 'three');"
      "INSERT INTO account VALUES ('u1', 'A@x', 'key1'), ('u2', 'B@x', 'key2'), "
      "('u3', 'C@x', 'key3');"
      "INSERT INTO tag VALUES ('t1', 'Work'), ('t2', 'home')");
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  Sql("INSERT OR REPLACE INTO person VALUES (4, 'a@x', 'four');"              // deletes 1
      "UPDATE OR REPLACE person SET email = 'c@x' WHERE id = 2;"              // deletes 3
      "INSERT OR REPLACE INTO account VALUES ('u4', 'x@x', 'key2');"          // deletes u2
      "INSERT OR REPLACE INTO account VALUES ('u5', 'c@X', 'key5');"          // deletes u3
      "REPLACE INTO tag VALUES ('t3', 'WORK');"                               // deletes t1
      "INSERT INTO person VALUES (5, 'e@x', 'five') ON CONFLICT DO NOTHING;"  // no delete
      "INSERT OR IGNORE INTO person VALUES (6, 'e@x', 'six')");               // ignored
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  EXPECT_EQ(LiveCount("person"), "3");
  EXPECT_EQ(LiveCount("account"), "3");
  EXPECT_EQ(LiveCount("tag"), "2");
}

// Hole 4: a rebuild that changes a column's type makes every snapshot row a dead letter; the
// snapshot's end must not tombstone those live rows, and verify must never call a row that is
// alive in SQLite and tombstoned in PostgreSQL equal.
TEST_F(DivergenceTest, SnapshotEndNeverTombstonesARowWhoseImageWasDeadLettered) {
  Sql("CREATE TABLE m (id TEXT PRIMARY KEY, n INTEGER)");
  for (int i = 0; i < 10; ++i) Sql("INSERT INTO m VALUES ('r" + std::to_string(i) + "', 1)");
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  Sql("CREATE TABLE m2 (id TEXT PRIMARY KEY, n TEXT);"
      "INSERT INTO m2 SELECT id, 'v' || n FROM m; DROP TABLE m; ALTER TABLE m2 RENAME TO m");
  ASSERT_NO_FATAL_FAILURE(CaptureShip());
  EXPECT_EQ(DeadLetters("m"), 10);
  EXPECT_EQ(LiveCount("m"), "10") << "dead-lettered rows must stay live";
  CliRun v = Verify();
  EXPECT_EQ(v.exit_code, 0) << v.out;  // differences explained by dead letters only
  EXPECT_NE(Verify(/*strict=*/true).exit_code, 0);
  // A row alive in SQLite and tombstoned in PostgreSQL is a difference even with a dead letter.
  Query("UPDATE " + Table("m") + " SET _owsync_deleted_at = now() WHERE id = 'r3'");
  CliRun again = Verify();
  EXPECT_EQ(again.exit_code, 1) << again.out;
  EXPECT_NE(again.out.find("r3"), std::string::npos) << again.out;
}

// Hole 5: one value must not halt a tenant: a key too long for a btree index, and two SQLite
// keys (text 'a', blob x'61') that are one key in PostgreSQL.
TEST_F(DivergenceTest, OneUnindexableOrCollidingKeyIsADeadLetterAndTheTenantGoesOn) {
  Sql("CREATE TABLE tool (id TEXT PRIMARY KEY, v TEXT); CREATE TABLE u (k PRIMARY KEY, v TEXT)");
  ASSERT_EQ(Provision().exit_code, 0);
  std::mt19937_64 rng(42);
  std::string long_key;
  for (int i = 0; i < 3000; ++i) long_key.push_back(static_cast<char>('a' + rng() % 26));
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db(), "INSERT INTO tool VALUES (?, 'long')", -1, &stmt, nullptr),
            SQLITE_OK);
  sqlite3_bind_text(stmt, 1, long_key.data(), static_cast<int>(long_key.size()), SQLITE_STATIC);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_DONE);
  sqlite3_finalize(stmt);
  Sql("INSERT INTO tool VALUES ('short', 'ok');"
      "INSERT INTO u VALUES ('a', 'text'); INSERT INTO u VALUES (x'61', 'blob');"
      "INSERT INTO u VALUES ('b', 'fine')");
  ASSERT_EQ(Capture().exit_code, 0);
  CliRun s = ShipWithin(120'000'000);
  ASSERT_EQ(s.exit_code, 0) << s.out;
  EXPECT_EQ(DeadLetters("tool"), 1);
  EXPECT_EQ(LiveCount("tool"), "1");
  EXPECT_EQ(LiveCount("u"), "2");
  Sql("INSERT INTO tool VALUES ('after', 'still shipping')");
  ASSERT_NO_FATAL_FAILURE(CaptureShip());
  EXPECT_EQ(LiveCount("tool"), "2");
}

// Hole 8: conflict_log.record_id keeps the whole key (Open WebUI ids are user-chosen).
TEST_F(DivergenceTest, ConflictLogKeepsTheWholeKey) {
  Sql("CREATE TABLE tool (id TEXT PRIMARY KEY, v TEXT)");
  const std::string id(400, 't');
  Sql("INSERT INTO tool VALUES ('" + id + "', 'a')");
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShip());
  Query("UPDATE " + Table("tool") + " SET v = 'changed in PostgreSQL'");  // dirty
  Sql("UPDATE tool SET v = 'changed in SQLite'");
  ASSERT_NO_FATAL_FAILURE(CaptureShip());
  EXPECT_EQ(Query("SELECT length(record_id) FROM sync_metadata.conflict_log WHERE client_name = "
                  "$1",
                  {client_}),
            (Rows{{std::to_string(id.size() + 4)}}));  // ["…"]
}

// Hole 6: a LOCK_DATABASE_URL that names another database than DATABASE_URL would make the
// pair swap leaders twice a second: refused at start.
TEST_F(DivergenceTest, LockUrlOfAnotherDatabaseIsRefusedAtStart) {
  Sql("CREATE TABLE t (id TEXT PRIMARY KEY)");
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_EQ(Capture().exit_code, 0);
  auto other = env_->CreateDatabase("other");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  auto url = shipper::PgUrl::Parse(runtime_url_);
  ASSERT_TRUE(url.ok());
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"ship", "--outbox-root", outbox_root(), "--once"},
        std::vector<std::string>{"ship", "--outbox-root", outbox_root()}}) {
    CliRun s = OwsyncWithin(args, 60'000'000,
                            {{"LOCK_DATABASE_URL", url->With("dbname", other->name).ToString()}});
    EXPECT_EQ(s.exit_code, 2) << s.out;
    EXPECT_NE(s.out.find("does not reach the database of DATABASE_URL"), std::string::npos)
        << s.out;
  }
}

// Hole 7: errors no retry can fix end `ship --once` with a message naming the fix; a
// continuous node says it once, loudly, and keeps trying.
TEST_F(DivergenceTest, StartupErrorsNoRetryCanFixEndShipOnceWithTheFix) {
  Sql("CREATE TABLE t (id TEXT PRIMARY KEY)");
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_EQ(Capture().exit_code, 0);
  const std::string once_args[] = {"ship", "--outbox-root", outbox_root(), "--once"};
  const std::vector<std::string> once(std::begin(once_args), std::end(once_args));
  // A cluster this host is not registered in.
  CliRun s = OwsyncWithin(once, 60'000'000, {{"CLUSTER_NAME", "not-my-cluster"}});
  EXPECT_NE(s.exit_code, 0) << s.out;
  EXPECT_NE(s.out.find("CLUSTER_NAME must be the cluster the host was registered in"),
            std::string::npos)
      << s.out;
  // A wrong password.
  auto url = shipper::PgUrl::Parse(runtime_url_);
  ASSERT_TRUE(url.ok());
  s = OwsyncWithin(
      once, 60'000'000,
      {{"DATABASE_URL", url->With("password", "wrong").ToString()}, {"LOCK_DATABASE_URL", "none"}});
  EXPECT_NE(s.exit_code, 0) << s.out;
  EXPECT_NE(s.out.find("refused the login"), std::string::npos) << s.out;
  // sync_metadata missing (a database nobody ran `db init` on).
  auto bare = env_->CreateDatabase("bare");
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  s = OwsyncWithin(once, 60'000'000,
                   {{"DATABASE_URL", url->With("dbname", bare->name).ToString()},
                    {"LOCK_DATABASE_URL", "none"}});
  EXPECT_NE(s.exit_code, 0) << s.out;
  EXPECT_NE(s.out.find("owsync db init"), std::string::npos) << s.out;
  // No outbox root.
  s = OwsyncWithin({"ship", "--outbox-root", dir_->Child("nowhere"), "--once"}, 60'000'000);
  EXPECT_NE(s.exit_code, 0) << s.out;
  // A continuous node says it once and goes on trying.
  auto node = StartOwsync({"ship", "--outbox-root", outbox_root()}, "continuous.log",
                          {{"CLUSTER_NAME", "not-my-cluster"}, {"LOG_LEVEL", "info"}});
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  env_->clock()->SleepForMicros(4'000'000);
  EXPECT_TRUE(node->running());
  ASSERT_TRUE(node->Signal(SIGTERM).ok());
  ASSERT_TRUE(node->Wait().ok());
  std::ifstream in(dir_->Child("continuous.log"));
  std::stringstream log;
  log << in.rdbuf();
  size_t said = 0;
  for (size_t at = log.str().find("cannot campaign"); at != std::string::npos;
       at = log.str().find("cannot campaign", at + 1)) {
    ++said;
  }
  EXPECT_EQ(said, 1u) << log.str();
}

}  // namespace
}  // namespace owsync::tests
