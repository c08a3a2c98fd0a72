#include "capture/capture_loop.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <thread>

#include "capture/capture_admin.h"
#include "capture/capture_meta.h"
#include "capture/capture_testing.h"
#include "capture/schema_inspector.h"
#include "capture/sql_quote.h"
#include "util/fake_clock.h"
#include "util/fault_injection_file_system.h"
#include "util/logger.h"
#include "util/scoped_temp_dir.h"

namespace owsync::capture {
namespace {

using outbox::Record;
using outbox::RecordType;
using outbox::Value;

// A small application: random inserts, updates, key changes, INSERT OR REPLACE and deletes
// over every replicable table of the database, with values shaped by the declared types.
class App {
 public:
  App(SqliteDb* db, uint32_t seed) : db_(db), rng_(seed) {}

  Status Refresh() {
    OWSYNC_ASSIGN_OR_RETURN(catalog_, SchemaInspector::Inspect(db_, {}));
    return Status::OK();
  }

  Status Insert(const TableInfo& t, bool replace = false) {
    std::vector<std::string> names = t.ColumnNames();
    std::string sql = std::string(replace ? "INSERT OR REPLACE" : "INSERT") + " INTO " +
                      QuoteIdentifier(t.name) + " (" + QuoteIdentifierList(names) + ") VALUES (";
    for (size_t i = 0; i < names.size(); ++i) sql += (i ? ", ?" : "?") + std::to_string(i + 1);
    sql += ")";
    OWSYNC_ASSIGN_OR_RETURN(SqliteStmt stmt, db_->Prepare(sql));
    const int64_t n = next_++;
    for (size_t i = 0; i < t.columns.size(); ++i) {
      OWSYNC_RETURN_IF_ERROR(stmt.Bind(static_cast<int>(i + 1), ValueFor(t.columns[i], n)));
    }
    return stmt.Run();
  }

  // A random existing row's key condition, or "" when the table is empty.
  Result<std::string> RandomRow(const TableInfo& t) {
    OWSYNC_ASSIGN_OR_RETURN(SqliteStmt stmt,
                            db_->Prepare("SELECT _rowid_ FROM " + QuoteIdentifier(t.name) +
                                         " ORDER BY random() LIMIT 1"));
    OWSYNC_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return std::string();
    return "_rowid_ = " + std::to_string(stmt.ColumnInt64(0));
  }

  Status RandomOp() {
    auto tables = catalog_.Replicable();
    const TableInfo& t = *tables[rng_() % tables.size()];
    const int op = static_cast<int>(rng_() % 10);
    if (op < 4) return Insert(t);
    OWSYNC_ASSIGN_OR_RETURN(std::string where, RandomRow(t));
    if (where.empty()) return Insert(t);
    const int64_t n = next_++;
    if (op < 7) {  // update a non-key column
      for (size_t i = 0; i < t.columns.size(); ++i) {
        if (t.columns[i].key_position != 0) continue;
        return Update(t, i, n, where);
      }
      return Status::OK();
    }
    if (op < 8) return Update(t, t.key_columns[0], n, where);  // key change
    if (op < 9) return db_->Exec("DELETE FROM " + QuoteIdentifier(t.name) + " WHERE " + where);
    return Insert(t, /*replace=*/true);
  }

  const Catalog& catalog() const { return catalog_; }

 private:
  Status Update(const TableInfo& t, size_t column, int64_t n, const std::string& where) {
    OWSYNC_ASSIGN_OR_RETURN(
        SqliteStmt stmt,
        db_->Prepare("UPDATE OR IGNORE " + QuoteIdentifier(t.name) + " SET " +
                     QuoteIdentifier(t.columns[column].name) + " = ?1 WHERE " + where));
    OWSYNC_RETURN_IF_ERROR(stmt.Bind(1, ValueFor(t.columns[column], n)));
    return stmt.Run();
  }

  Value ValueFor(const outbox::Column& c, int64_t n) {
    std::string type = c.declared_type;
    for (auto& ch : type) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    const bool key = c.key_position != 0;
    if (!key && !c.not_null && rng_() % 5 == 0) return Value::Null();
    if (type.find("INT") != std::string::npos || type.find("BOOL") != std::string::npos) {
      if (key) return Value::Integer(n);
      if (rng_() % 20 == 0) return Value::Text("wrong type " + std::to_string(n));
      return Value::Integer(type.find("BOOL") != std::string::npos ? n % 2 : n * 1000003);
    }
    if (type.find("REAL") != std::string::npos) return Value::Real(static_cast<double>(n) / 3);
    if (type.find("BLOB") != std::string::npos) return Value::Blob(std::string(n % 5, '\0'));
    if (key) return Value::Text("k" + std::to_string(n));
    std::string text = "{\"n\":" + std::to_string(n) + ",\"t\":\"";
    text.append(rng_() % 50 == 0 ? 100000 : rng_() % 300, 'x');
    text += "\"}";
    return Value::Text(text);
  }

  SqliteDb* db_;
  std::mt19937 rng_;
  Catalog catalog_;
  int64_t next_ = 1;
};

class CaptureLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("capture-loop-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<ScopedTempDir>(std::move(dir).value());
    posix_ = NewPosixFileSystem();
    fs_ = posix_.get();
    db_path_ = dir_->Child("webui.db");
    outbox_dir_ = dir_->Child("outbox");
  }

  void CreateFromFixture(const std::string& fixture, const std::string& journal) {
    auto sql = testing::ReadFixture(posix_.get(), fixture);
    ASSERT_TRUE(sql.ok());
    CreateFromSql(*sql, journal);
  }

  void CreateFromSql(const std::string& sql, const std::string& journal) {
    auto db = testing::CreateDb(db_path_, sql, journal);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    app_db_ = std::move(db).value();
    app_ = std::make_unique<App>(&app_db_, 42);
    ASSERT_TRUE(app_->Refresh().ok());
  }

  std::unique_ptr<CaptureLoop> NewLoop() {
    CaptureOptions o = testing::TestOptions(fs_, &clock_, db_path_, outbox_dir_);
    o.drain.max_changes = 50;  // several batches
    o.snapshot.chunk_rows = 16;
    return std::make_unique<CaptureLoop>(fs_, &clock_, &logger_, std::move(o));
  }

  void CatchUp(CaptureLoop* loop) {
    Status s = loop->RunUntilCaughtUp();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  void RandomOps(int n) {
    for (int i = 0; i < n; ++i) {
      Status s = app_->RandomOp();
      ASSERT_TRUE(s.ok() || s.code() == StatusCode::kDataError) << s.ToString();
    }
  }

  std::vector<Record> Records() {
    auto r = testing::ReadOutbox(posix_.get(), outbox_dir_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<Record>{};
  }

  // The outbox applied to an empty copy equals the database, table for table.
  void ExpectOutboxEqualsDatabase(const Catalog& catalog) {
    testing::Replica replica;
    Status s = replica.ApplyAll(Records());
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto diff = replica.Diff(&app_db_, catalog);
    ASSERT_TRUE(diff.ok()) << diff.status().ToString();
    EXPECT_EQ(*diff, "");
  }

  int64_t Changelog() { return *app_db_.QueryInt64("SELECT count(*) FROM _owsync_changes"); }

  std::unique_ptr<ScopedTempDir> dir_;
  std::unique_ptr<FileSystem> posix_;
  FileSystem* fs_ = nullptr;
  FakeClock clock_;
  CapturingLogger logger_;
  std::string db_path_;
  std::string outbox_dir_;
  SqliteDb app_db_;
  std::unique_ptr<App> app_;
};

class FixtureRoundTripTest
    : public CaptureLoopTest,
      public ::testing::WithParamInterface<std::tuple<std::string, std::string>> {};

TEST_P(FixtureRoundTripTest, OutboxEqualsDatabaseAfterSnapshotAndRandomChanges) {
  const auto& [fixture, journal] = GetParam();
  CreateFromFixture(fixture, journal);
  RandomOps(150);  // rows that exist before capture: the initial snapshot carries them
  auto loop = NewLoop();
  CatchUp(loop.get());
  EXPECT_EQ(loop->counters().snapshots_done, app_->catalog().Replicable().size());
  EXPECT_EQ(Changelog(), 0);
  ExpectOutboxEqualsDatabase(loop->catalog());
  for (int round = 0; round < 3; ++round) {
    RandomOps(100);
    CatchUp(loop.get());
    EXPECT_EQ(Changelog(), 0);
    ExpectOutboxEqualsDatabase(loop->catalog());
  }
  EXPECT_EQ(loop->counters().generations_started, 0u);
  EXPECT_GT(loop->counters().entries_drained, 250u);
  // A restarted capture resumes: no new generation, no new snapshot.
  loop.reset();
  RandomOps(50);
  auto again = NewLoop();
  CatchUp(again.get());
  EXPECT_EQ(again->counters().generations_started, 0u);
  EXPECT_EQ(again->counters().snapshots_done, 0u);
  ExpectOutboxEqualsDatabase(again->catalog());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureRoundTripTest,
                         ::testing::Combine(::testing::Values("v0.6.31.sql", "v0.11.0.sql"),
                                            ::testing::Values("delete", "wal")),
                         [](const auto& param_info) {
                           std::string name =
                               std::get<0>(param_info.param) + "_" + std::get<1>(param_info.param);
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

class UpgradeTest : public CaptureLoopTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(UpgradeTest, MigrationRebuildingTablesUnderARunningCaptureLosesNothing) {
  CreateFromFixture("v0.6.31.sql", GetParam());
  ASSERT_TRUE(app_db_
                  .Exec("INSERT INTO config (id, data, version) VALUES "
                        "(1, '{\"ui\":{\"x\":1},\"rag\":2}', 0)")
                  .ok());
  RandomOps(200);
  auto loop = NewLoop();
  CatchUp(loop.get());
  RandomOps(50);
  ASSERT_TRUE(loop->Step().ok());  // capture runs while the application keeps writing
  auto upgrade = testing::ReadFixture(posix_.get(), "upgrade-rebuilds.sql");
  ASSERT_TRUE(upgrade.ok());
  ASSERT_TRUE(app_db_.Exec(*upgrade).ok());
  // Deletes and writes in the rebuilt tables right after the rebuild, before capture looks.
  ASSERT_TRUE(
      app_db_.Exec("DELETE FROM chat WHERE _rowid_ IN (SELECT _rowid_ FROM chat LIMIT 3)").ok());
  ASSERT_TRUE(
      app_db_.Exec("DELETE FROM \"user\" WHERE _rowid_ IN (SELECT _rowid_ FROM \"user\" LIMIT 2)")
          .ok());
  ASSERT_TRUE(app_->Refresh().ok());
  RandomOps(30);
  CatchUp(loop.get());
  const Catalog& catalog = loop->catalog();
  ASSERT_NE(catalog.FindReplicable("api_key"), nullptr);
  EXPECT_EQ(catalog.FindReplicable("config")->KeyNames(), std::vector<std::string>{"key"});
  EXPECT_EQ(catalog.FindReplicable("chat")->key_source, "PRIMARY KEY");
  EXPECT_EQ(Changelog(), 0);
  ExpectOutboxEqualsDatabase(catalog);
  testing::Replica replica;
  ASSERT_TRUE(replica.ApplyAll(Records()).ok());
  for (const char* t : {"chat", "user", "config", "api_key", "message"}) {
    EXPECT_EQ(replica.SnapshotsCompleted(t), 2 - (std::string(t) == "api_key")) << t;
  }
  ASSERT_NE(replica.Schema("message"), nullptr);
  EXPECT_EQ(replica.Schema("message")->back().name, "is_pinned");
  RandomOps(50);
  CatchUp(loop.get());
  ExpectOutboxEqualsDatabase(loop->catalog());
}

INSTANTIATE_TEST_SUITE_P(JournalModes, UpgradeTest, ::testing::Values("delete", "wal"));

TEST_F(CaptureLoopTest, RestoredOlderCopyUnderARunningCaptureStartsANewGeneration) {
  CreateFromFixture("v0.11.0.sql", "delete");
  RandomOps(100);
  auto loop = NewLoop();
  CatchUp(loop.get());
  const std::string old_outbox = loop->writer()->outbox_id();
  const std::string old_generation = loop->generation();
  ASSERT_TRUE(app_db_.Exec("VACUUM INTO " + QuoteLiteral(dir_->Child("backup.db"))).ok());
  RandomOps(100);
  CatchUp(loop.get());
  // The operator restores the backup over the live file (a new file at the same path).
  ASSERT_TRUE(fs_->RenameFile(dir_->Child("backup.db"), db_path_).ok());
  app_db_ = SqliteDb();
  auto reopened = testing::OpenApp(db_path_);
  ASSERT_TRUE(reopened.ok());
  app_db_ = std::move(reopened).value();
  app_ = std::make_unique<App>(&app_db_, 7);
  ASSERT_TRUE(app_->Refresh().ok());
  RandomOps(20);
  CatchUp(loop.get());
  EXPECT_EQ(loop->counters().db_reopens, 1u);
  EXPECT_EQ(loop->counters().generations_started, 1u);
  EXPECT_NE(loop->generation(), old_generation);
  EXPECT_NE(loop->writer()->outbox_id(), old_outbox);
  EXPECT_TRUE(logger_.Contains("restored from an older copy"));
  // The new generation alone (a full snapshot plus changes) equals the restored database.
  ExpectOutboxEqualsDatabase(loop->catalog());
  auto meta = CaptureMeta(&app_db_).Get(CaptureMeta::kGeneration);
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(**meta, loop->generation());
}

TEST_F(CaptureLoopTest, RestoredOlderCopyWhileCaptureWasStoppedIsDetectedAtStart) {
  CreateFromFixture("v0.6.31.sql", "wal");
  RandomOps(80);
  auto loop = NewLoop();
  CatchUp(loop.get());
  ASSERT_TRUE(app_db_.Exec("VACUUM INTO " + QuoteLiteral(dir_->Child("backup.db"))).ok());
  RandomOps(80);
  CatchUp(loop.get());
  loop.reset();
  app_db_ = SqliteDb();
  ASSERT_TRUE(fs_->DeleteFile(db_path_ + "-wal").ok() || true);
  ASSERT_TRUE(fs_->RenameFile(dir_->Child("backup.db"), db_path_).ok());
  auto reopened = testing::OpenApp(db_path_);
  ASSERT_TRUE(reopened.ok());
  app_db_ = std::move(reopened).value();
  auto again = NewLoop();
  CatchUp(again.get());
  EXPECT_EQ(again->counters().generations_started, 1u);
  ExpectOutboxEqualsDatabase(again->catalog());
}

TEST_F(CaptureLoopTest, AddedColumnsAreCarriedAndDefaultsResnapshot) {
  CreateFromSql(
      "CREATE TABLE m (id TEXT NOT NULL PRIMARY KEY, body TEXT);"
      "INSERT INTO m VALUES ('a', 'x'), ('b', 'y');",
      "delete");
  auto loop = NewLoop();
  CatchUp(loop.get());
  const uint64_t snapshots = loop->counters().snapshots_done;
  ASSERT_TRUE(app_db_.Exec("ALTER TABLE m ADD COLUMN note TEXT").ok());  // NULL everywhere
  ASSERT_TRUE(app_db_.Exec("INSERT INTO m VALUES ('c', 'z', 'n')").ok());
  CatchUp(loop.get());
  EXPECT_EQ(loop->counters().snapshots_done, snapshots);
  ExpectOutboxEqualsDatabase(loop->catalog());
  ASSERT_TRUE(app_db_.Exec("ALTER TABLE m ADD COLUMN pinned BOOLEAN DEFAULT 0 NOT NULL").ok());
  CatchUp(loop.get());
  EXPECT_EQ(loop->counters().snapshots_done, snapshots + 1);
  ExpectOutboxEqualsDatabase(loop->catalog());
  auto recs = Records();
  int schemas = 0;
  for (const auto& r : recs) schemas += r.type == RecordType::kSchema && r.table == "m";
  EXPECT_EQ(schemas, 3);
}

TEST_F(CaptureLoopTest, NewTablesArePickedUpAndUnreplicableOnesReported) {
  CreateFromSql("CREATE TABLE a (id INTEGER PRIMARY KEY, v);", "wal");
  auto loop = NewLoop();
  CatchUp(loop.get());
  ASSERT_TRUE(app_db_
                  .Exec("CREATE TABLE \"b \"\"new\"\"\" (\"k\xc3\xa9y\" TEXT NOT NULL UNIQUE, v);"
                        "INSERT INTO \"b \"\"new\"\"\" VALUES ('x', 1);"
                        "CREATE TABLE nokey (v); INSERT INTO nokey VALUES (1);")
                  .ok());
  CatchUp(loop.get());
  ASSERT_TRUE(app_db_.Exec("INSERT INTO \"b \"\"new\"\"\" VALUES ('y', 2)").ok());
  CatchUp(loop.get());
  EXPECT_NE(loop->catalog().FindReplicable("b \"new\""), nullptr);
  EXPECT_TRUE(logger_.Contains("table \"nokey\" is NOT replicable: no PRIMARY KEY"));
  ExpectOutboxEqualsDatabase(loop->catalog());
}

TEST_F(CaptureLoopTest, RequestedResnapshotRunsAgain) {
  CreateFromFixture("v0.11.0.sql", "wal");
  RandomOps(50);
  auto loop = NewLoop();
  CatchUp(loop.get());
  const uint64_t done = loop->counters().snapshots_done;
  ASSERT_TRUE(loop->RequestSnapshot("chat").ok());
  EXPECT_FALSE(loop->RequestSnapshot("no_such_table").ok());
  CatchUp(loop.get());
  EXPECT_EQ(loop->counters().snapshots_done, done + 1);
  // A request from another process (the CLI) is picked up at the next wakeup.
  ASSERT_TRUE(CaptureAdmin::MarkSnapshots(&app_db_, loop->catalog(), "").ok());
  CatchUp(loop.get());
  EXPECT_EQ(loop->counters().snapshots_done, done + 1 + loop->catalog().Replicable().size());
  auto owed = CaptureMeta(&app_db_).PendingSnapshots();
  ASSERT_TRUE(owed.ok());
  EXPECT_TRUE(owed->empty());
  ExpectOutboxEqualsDatabase(loop->catalog());
}

TEST_F(CaptureLoopTest, ASnapshotRequestedWhileItRunsRunsAgain) {
  CreateFromSql(
      "CREATE TABLE t (id INTEGER PRIMARY KEY, v);"
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100) "
      "INSERT INTO t SELECT i, i FROM c;",
      "wal");
  auto loop = NewLoop();
  CatchUp(loop.get());
  const uint64_t done = loop->counters().snapshots_done;
  ASSERT_TRUE(loop->RequestSnapshot("t").ok());
  ASSERT_TRUE(loop->Step().ok());
  ASSERT_TRUE(loop->snapshot_active());  // 100 rows, 16 per chunk
  ASSERT_TRUE(CaptureAdmin::MarkSnapshots(&app_db_, loop->catalog(), "t").ok());
  CatchUp(loop.get());
  EXPECT_EQ(loop->counters().snapshots_done, done + 2);
  ExpectOutboxEqualsDatabase(loop->catalog());
}

TEST_F(CaptureLoopTest, UninstallThenCaptureAgainStartsANewGeneration) {
  CreateFromFixture("v0.6.31.sql", "delete");
  RandomOps(40);
  {
    auto loop = NewLoop();
    CatchUp(loop.get());
  }
  ASSERT_TRUE(CaptureAdmin::Uninstall(&app_db_).ok());
  RandomOps(40);  // not captured
  auto loop = NewLoop();
  CatchUp(loop.get());
  EXPECT_EQ(loop->counters().generations_started, 1u);
  ExpectOutboxEqualsDatabase(loop->catalog());
}

TEST_F(CaptureLoopTest, SecondCaptureOnTheSameDatabaseIsRefused) {
  CreateFromSql("CREATE TABLE a (id INTEGER PRIMARY KEY);", "delete");
  auto first = NewLoop();
  ASSERT_TRUE(first->Start().ok());
  CaptureOptions o = testing::TestOptions(fs_, &clock_, db_path_, dir_->Child("other-outbox"));
  CaptureLoop second(fs_, &clock_, &logger_, o);
  Status s = second.Start();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("another owsync capture"), std::string::npos);
}

TEST_F(CaptureLoopTest, IdleStepsWriteNothing) {
  CreateFromSql("CREATE TABLE a (id INTEGER PRIMARY KEY, v); INSERT INTO a VALUES (1, 1);", "wal");
  auto loop = NewLoop();
  CatchUp(loop.get());
  const uint64_t durable = loop->writer()->durable_offset();
  for (int i = 0; i < 20; ++i) {
    auto more = loop->Step();
    ASSERT_TRUE(more.ok());
    EXPECT_FALSE(*more);
  }
  EXPECT_EQ(loop->writer()->durable_offset(), durable);
  ASSERT_TRUE(app_db_.Exec("UPDATE a SET v = 2").ok());
  CatchUp(loop.get());
  EXPECT_EQ(loop->writer()->durable_offset(), durable + 1);
}

TEST_F(CaptureLoopTest, FullOutboxDiskPausesDrainingAndLosesNothing) {
  FaultInjectionFileSystem faulty(posix_.get());
  fs_ = &faulty;
  CreateFromFixture("v0.11.0.sql", "delete");
  RandomOps(50);
  auto loop = NewLoop();
  CatchUp(loop.get());
  faulty.SetFreeBytes(0);
  RandomOps(60);  // the application is unaffected
  auto more = loop->Step();
  ASSERT_TRUE(more.ok()) << more.status().ToString();
  EXPECT_FALSE(loop->writer_ok());
  EXPECT_TRUE(loop->last_writer_error().IsNoSpace()) << loop->last_writer_error().ToString();
  EXPECT_TRUE(logger_.Contains("draining paused"));
  EXPECT_GT(Changelog(), 0);
  EXPECT_FALSE(loop->RunUntilCaughtUp().ok());  // --once says it could not write
  RandomOps(20);
  faulty.ClearFaults();
  clock_.Advance(60'000'000);
  CatchUp(loop.get());
  EXPECT_TRUE(loop->writer_ok());
  EXPECT_EQ(Changelog(), 0);
  ExpectOutboxEqualsDatabase(loop->catalog());
}

TEST_F(CaptureLoopTest, FullOutboxDiskAtStartPausesToo) {
  FaultInjectionFileSystem faulty(posix_.get());
  fs_ = &faulty;
  CreateFromFixture("v0.6.31.sql", "wal");
  RandomOps(30);
  faulty.SetFreeBytes(100);
  auto loop = NewLoop();
  Status s = loop->RunUntilCaughtUp();
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  RandomOps(30);  // captured by the triggers installed before the outbox failed
  EXPECT_GT(Changelog(), 0);
  faulty.ClearFaults();
  clock_.Advance(60'000'000);
  CatchUp(loop.get());
  EXPECT_EQ(Changelog(), 0);
  ExpectOutboxEqualsDatabase(loop->catalog());
}

TEST_F(CaptureLoopTest, RunStopsCleanlyWhenAsked) {
  CreateFromSql("CREATE TABLE a (id INTEGER PRIMARY KEY, v);", "wal");
  auto clock = NewSystemClock();
  CaptureOptions o = testing::TestOptions(fs_, clock.get(), db_path_, outbox_dir_);
  o.poll_micros = 2000;
  CaptureLoop loop(fs_, clock.get(), &logger_, o);
  Status result;
  std::thread runner([&] { result = loop.Run(); });
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(app_db_.Exec("INSERT INTO a VALUES (" + std::to_string(i) + ", 'v')").ok());
  }
  // Rows written before the capture installed its triggers come with the initial snapshot.
  auto pending = [&] {
    auto n = app_db_.QueryInt64(
        "SELECT (SELECT count(*) FROM _owsync_changes) + "
        "(SELECT count(*) FROM _owsync_meta WHERE key LIKE 'snapshot:%') + "
        "(SELECT count(*) = 0 FROM _owsync_meta WHERE key = 'generation')");
    return n.ok() ? *n : 1;
  };
  for (int i = 0; i < 500 && pending() > 0; ++i) clock->SleepForMicros(10'000);
  loop.RequestStop();
  runner.join();
  EXPECT_TRUE(result.ok()) << result.ToString();
  EXPECT_EQ(Changelog(), 0);
  ExpectOutboxEqualsDatabase(*SchemaInspector::Inspect(&app_db_, {}));
}

}  // namespace
}  // namespace owsync::capture
