#include "capture/trigger_installer.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "capture/capture_admin.h"
#include "capture/capture_meta.h"
#include "capture/capture_testing.h"
#include "capture/changelog.h"
#include "capture/schema_watcher.h"
#include "capture/sqlite_txn.h"
#include "util/logger.h"
#include "util/scoped_temp_dir.h"

namespace owsync::capture {
namespace {

using outbox::Value;

class TriggerInstallerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("capture-triggers-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<ScopedTempDir>(std::move(dir).value());
    fs_ = NewPosixFileSystem();
  }

  // Creates the database with `sql` and installs capture (tables + triggers).
  void Install(const std::string& sql) {
    auto db = testing::CreateDb(dir_->Child("t.db"), sql);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    app_ = std::move(db).value();
    auto cap = SqliteDb::Open(dir_->Child("t.db"), {});
    ASSERT_TRUE(cap.ok());
    capture_ = std::move(cap).value();
    ASSERT_TRUE(testing::CreateCaptureTables(&capture_).ok());
    watcher_ = std::make_unique<SchemaWatcher>(&capture_, TableFilter(), &logger_);
    auto r = watcher_->Reconcile();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  std::vector<ChangeEntry> Entries() {
    Changelog changelog(&capture_);
    auto batch = changelog.ReadBatch(1000);
    EXPECT_TRUE(batch.ok()) << batch.status().ToString();
    return batch.ok() ? *batch : std::vector<ChangeEntry>{};
  }

  void Exec(const std::string& sql) { ASSERT_TRUE(app_.Exec(sql).ok()) << sql; }

  std::unique_ptr<ScopedTempDir> dir_;
  std::unique_ptr<FileSystem> fs_;
  CapturingLogger logger_;
  SqliteDb app_;
  SqliteDb capture_;
  std::unique_ptr<SchemaWatcher> watcher_;
};

TEST_F(TriggerInstallerTest, InsertUpdateDeleteAreLoggedWithTheKeyOnly) {
  Install("CREATE TABLE t (id TEXT NOT NULL PRIMARY KEY, body TEXT)");
  Exec("INSERT INTO t VALUES ('a', 'hello')");
  Exec("UPDATE t SET body = 'world' WHERE id = 'a'");
  Exec("DELETE FROM t WHERE id = 'a'");
  auto e = Entries();
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].op, ChangeOp::kInsert);
  EXPECT_EQ(e[1].op, ChangeOp::kUpdate);
  EXPECT_EQ(e[2].op, ChangeOp::kDelete);
  for (const auto& x : e) {
    EXPECT_EQ(x.table, "t");
    EXPECT_EQ(x.key[0], Value::Text("a"));
    EXPECT_TRUE(x.key[1].is_null());
    EXPECT_GT(x.ts, 1600000000);
  }
}

TEST_F(TriggerInstallerTest, KeyChangeLogsDeleteOfOldKeyAndUpsertOfNew) {
  Install("CREATE TABLE t (a TEXT NOT NULL, b INT NOT NULL, v, PRIMARY KEY (a, b))");
  Exec("INSERT INTO t VALUES ('x', 1, 'v')");
  Exec("UPDATE t SET b = 2 WHERE a = 'x'");
  Exec("UPDATE t SET v = 'w'");  // no key change: one entry
  auto e = Entries();
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[1].op, ChangeOp::kDelete);
  EXPECT_EQ(e[1].key[0], Value::Text("x"));
  EXPECT_EQ(e[1].key[1], Value::Integer(1));
  EXPECT_EQ(e[2].op, ChangeOp::kUpdate);
  EXPECT_EQ(e[2].key[1], Value::Integer(2));
  EXPECT_EQ(e[3].op, ChangeOp::kUpdate);
}

TEST_F(TriggerInstallerTest, KeyChangeIsComparedExactlyNotByCollation) {
  Install("CREATE TABLE t (id TEXT COLLATE NOCASE NOT NULL PRIMARY KEY, v)");
  Exec("INSERT INTO t VALUES ('abc', 1)");
  Exec("UPDATE t SET id = 'ABC'");
  auto e = Entries();
  // The key compares with NOCASE, so a REPLACE could delete 'abc' through it: the BEFORE
  // trigger logs the row 'ABC' collides with first (the drain coalesces it), then the AFTER
  // trigger logs the exact change of the key.
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[1].op, ChangeOp::kDelete);
  EXPECT_EQ(e[1].key[0], Value::Text("abc"));
  EXPECT_EQ(e[2].op, ChangeOp::kDelete);
  EXPECT_EQ(e[2].key[0], Value::Text("abc"));
  EXPECT_EQ(e[3].key[0], Value::Text("ABC"));
}

TEST_F(TriggerInstallerTest, LegacyFixtureTablesGetTriggersThatFire) {
  auto sql = testing::ReadFixture(fs_.get(), "v0.6.31.sql");
  ASSERT_TRUE(sql.ok());
  Install(*sql);
  Exec(
      "INSERT INTO \"user\" (id, name, email, role, profile_image_url, created_at, updated_at, "
      "last_active_at) VALUES ('u1', 'n', 'e', 'user', '', 1, 1, 1)");
  Exec("INSERT INTO \"group\" (id) VALUES ('g1')");
  Exec("INSERT INTO tag (id, name, user_id) VALUES ('t', 'n', 'u1')");
  auto e = Entries();
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].table, "user");
  EXPECT_EQ(e[1].table, "group");
  EXPECT_EQ(e[2].table, "tag");
  EXPECT_EQ(e[2].key[1], Value::Text("u1"));
  auto missing = TriggerInstaller::TablesMissingTriggers(&capture_, watcher_->catalog());
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->empty());
}

TEST_F(TriggerInstallerTest, OddIdentifiersWork) {
  Install(
      "CREATE TABLE \"it's \"\"odd\"\" \xc3\xa9\" (\"k'\"\"ey\" TEXT NOT NULL PRIMARY KEY, "
      "\"select\" INT)");
  Exec("INSERT INTO \"it's \"\"odd\"\" \xc3\xa9\" VALUES ('k1', 1)");
  Exec("UPDATE \"it's \"\"odd\"\" \xc3\xa9\" SET \"k'\"\"ey\" = 'k2'");
  auto e = Entries();
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].table, "it's \"odd\" \xc3\xa9");
  EXPECT_EQ(e[1].key[0], Value::Text("k1"));
  EXPECT_EQ(e[2].key[0], Value::Text("k2"));
}

TEST_F(TriggerInstallerTest, DroppingANonKeyColumnDoesNotBreakTriggers) {
  Install("CREATE TABLE t (id INTEGER PRIMARY KEY, gone TEXT, kept TEXT)");
  Exec("ALTER TABLE t DROP COLUMN gone");
  Exec("INSERT INTO t (id, kept) VALUES (1, 'x')");
  EXPECT_EQ(Entries().size(), 1u);
}

TEST_F(TriggerInstallerTest, RebuiltTableIsDetectedAndRepaired) {
  Install("CREATE TABLE t (id TEXT NOT NULL, v TEXT); CREATE UNIQUE INDEX t_id ON t(id);");
  Exec("INSERT INTO t VALUES ('a', '1')");
  Exec(
      "BEGIN; CREATE TABLE _tmp_t (id TEXT NOT NULL PRIMARY KEY, v TEXT, w TEXT);"
      "INSERT INTO _tmp_t (id, v) SELECT id, v FROM t; DROP TABLE t;"
      "ALTER TABLE _tmp_t RENAME TO t; COMMIT;");
  ASSERT_TRUE(*watcher_->Changed());
  Exec("DELETE FROM t WHERE id = 'a'");  // no trigger sees this one
  EXPECT_EQ(Entries().size(), 1u);
  auto missing = TriggerInstaller::TablesMissingTriggers(&capture_, watcher_->catalog());
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, std::vector<std::string>{"t"});
  auto r = watcher_->Reconcile();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->triggers_installed, std::set<std::string>{"t"});
  EXPECT_EQ(watcher_->catalog().Find("t")->key_source, "PRIMARY KEY");
  auto owed = CaptureMeta(&capture_).PendingSnapshots();
  ASSERT_TRUE(owed.ok());
  EXPECT_EQ(owed->count("t"), 1u);
  Exec("INSERT INTO t VALUES ('b', '2', '3')");
  EXPECT_EQ(Entries().size(), 2u);
}

TEST_F(TriggerInstallerTest, RenamedTableLosesItsOldTriggersAndGetsNewOnes) {
  Install("CREATE TABLE config (id INTEGER PRIMARY KEY, data TEXT)");
  Exec("ALTER TABLE config RENAME TO config_old");
  auto r = watcher_->Reconcile();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tables_gone, std::vector<std::string>{"config"});
  EXPECT_EQ(r->triggers_installed, std::set<std::string>{"config_old"});
  Exec("INSERT INTO config_old VALUES (1, 'x')");
  auto e = Entries();
  ASSERT_EQ(e.size(), 1u);  // exactly one trigger fired: the stale one was dropped
  EXPECT_EQ(e[0].table, "config_old");
}

// SQLite's order of events for INSERT OR REPLACE through a secondary UNIQUE index: BEFORE
// INSERT triggers run first (and see the row about to go), then the conflicting row is deleted
// without any delete trigger, then the row is inserted and AFTER INSERT runs.
TEST_F(TriggerInstallerTest, ReplaceThroughASecondaryIndexLogsTheRowItDeletesFirst) {
  Install("CREATE TABLE person (id INTEGER PRIMARY KEY, email TEXT UNIQUE, name TEXT)");
  Exec("INSERT INTO person VALUES (1, 'a@x', 'one')");
  Exec("CREATE TEMP TABLE seen (id, present)");
  Exec(
      "CREATE TEMP TRIGGER probe_del AFTER DELETE ON person BEGIN "
      "INSERT INTO seen VALUES (OLD.id, 'deleted'); END");
  (void)Entries();
  ASSERT_TRUE(Changelog(&capture_).DeleteBelow(1'000'000).ok());
  Exec("INSERT OR REPLACE INTO person VALUES (2, 'a@x', 'two')");
  auto e = Entries();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].op, ChangeOp::kDelete);  // from the BEFORE trigger: row 1, still there then
  EXPECT_EQ(e[0].key[0], Value::Integer(1));
  EXPECT_EQ(e[1].op, ChangeOp::kInsert);
  EXPECT_EQ(e[1].key[0], Value::Integer(2));
  // No delete trigger fired for row 1 (recursive_triggers is off, as in the application).
  EXPECT_EQ(*app_.QueryInt64("SELECT count(*) FROM seen"), 0);
  EXPECT_EQ(*app_.QueryInt64("SELECT count(*) FROM person"), 1);
}

TEST_F(TriggerInstallerTest, UpdateOrReplaceAndExpressionAndCollatedIndexesAreWatched) {
  Install(
      "CREATE TABLE account (id TEXT NOT NULL, email TEXT, tag TEXT, UNIQUE (id));"
      "CREATE UNIQUE INDEX account_email ON account (lower(email));"
      "CREATE UNIQUE INDEX account_tag ON account (tag COLLATE NOCASE)");
  Exec("INSERT INTO account VALUES ('u1', 'A@x', 't1'), ('u2', 'B@x', 't2'), ('u3', 'c@x', 't3')");
  ASSERT_TRUE(Changelog(&capture_).DeleteBelow(1'000'000).ok());
  Exec("INSERT OR REPLACE INTO account VALUES ('u4', 'a@X', 'new')");  // u1 through lower(email)
  Exec("UPDATE OR REPLACE account SET tag = 'T3' WHERE id = 'u2'");    // u3 through NOCASE
  std::set<std::string> deleted;
  for (const auto& entry : Entries()) {
    if (entry.op == ChangeOp::kDelete) deleted.insert(entry.key[0].bytes);
  }
  EXPECT_TRUE(deleted.count("u1"));
  EXPECT_TRUE(deleted.count("u3"));
  EXPECT_EQ(*app_.QueryInt64("SELECT count(*) FROM account"), 2);
}

TEST_F(TriggerInstallerTest, AFailedInsertLeavesNoEntryFromItsBeforeTrigger) {
  Install("CREATE TABLE person (id INTEGER PRIMARY KEY, email TEXT UNIQUE)");
  Exec("INSERT INTO person VALUES (1, 'a@x')");
  ASSERT_TRUE(Changelog(&capture_).DeleteBelow(1'000'000).ok());
  EXPECT_FALSE(app_.Exec("INSERT INTO person VALUES (2, 'a@x')").ok());  // UNIQUE fails
  EXPECT_TRUE(Entries().empty());
}

TEST_F(TriggerInstallerTest, ReconcileIsIdempotent) {
  Install("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  auto plan = TriggerInstaller::Plan(&capture_, watcher_->catalog());
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->empty());
  auto before = capture_.SchemaVersion();
  auto r = watcher_->Reconcile();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->triggers_installed.empty());
  EXPECT_EQ(*capture_.SchemaVersion(), *before);
}

TEST_F(TriggerInstallerTest, UninstallRemovesEverything) {
  auto sql = testing::ReadFixture(fs_.get(), "v0.11.0.sql");
  ASSERT_TRUE(sql.ok());
  Install(*sql);
  ASSERT_TRUE(CaptureAdmin::Uninstall(&capture_).ok());
  auto left = capture_.QueryInt64(
      "SELECT count(*) FROM sqlite_schema WHERE name LIKE '%owsync%' OR sql LIKE '%owsync%'");
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, 0);
  EXPECT_EQ(
      *capture_.QueryInt64("SELECT count(*) FROM sqlite_sequence WHERE name = '_owsync_changes'"),
      0);
  Exec("INSERT INTO config VALUES ('k', '{}', 1)");  // the application still works
}

}  // namespace
}  // namespace owsync::capture
