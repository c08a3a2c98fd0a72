#include "capture/snapshotter.h"

#include <gtest/gtest.h>

#include <memory>

#include "capture/capture_meta.h"
#include "capture/capture_testing.h"
#include "capture/changelog.h"
#include "capture/drainer.h"
#include "capture/record_emitter.h"
#include "capture/schema_watcher.h"
#include "capture/sql_quote.h"
#include "capture/sqlite_txn.h"
#include "capture/trigger_installer.h"
#include "util/fake_clock.h"
#include "util/logger.h"
#include "util/scoped_temp_dir.h"

namespace owsync::capture {
namespace {

using outbox::Record;
using outbox::RecordType;
using outbox::Value;

class SnapshotterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("capture-snapshot-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<ScopedTempDir>(std::move(dir).value());
    fs_ = NewPosixFileSystem();
  }

  void Install(const std::string& sql, SnapshotOptions options = {}) {
    db_path_ = dir_->Child("s.db");
    auto db = testing::CreateDb(db_path_, sql);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    app_ = std::move(db).value();
    auto cap = SqliteDb::Open(db_path_, {});
    ASSERT_TRUE(cap.ok());
    capture_ = std::move(cap).value();
    ASSERT_TRUE(testing::CreateCaptureTables(&capture_).ok());
    watcher_ = std::make_unique<SchemaWatcher>(&capture_, TableFilter(), &logger_);
    ASSERT_TRUE(watcher_->Reconcile().ok());
    auto w = outbox::OutboxWriter::Open(fs_.get(), &clock_, dir_->Child("outbox"), {});
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    writer_ = std::move(w).value();
    emitter_ = std::make_unique<RecordEmitter>(writer_.get());
    drainer_ =
        std::make_unique<Drainer>(&capture_, emitter_.get(), &clock_, &logger_, DrainOptions{});
    snapshotter_ = std::make_unique<Snapshotter>(
        &capture_, emitter_.get(), &clock_, &logger_, options,
        [this](const SnapshotProgress& p) { progress_.push_back(p); });
  }

  void Exec(const std::string& sql) { ASSERT_TRUE(app_.Exec(sql).ok()) << sql; }

  void Drain() {
    auto r = drainer_->DrainOnce(watcher_->catalog());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // Runs a whole snapshot of `table`; returns the number of steps.
  int Snapshot(const std::string& table) {
    const TableInfo* t = watcher_->catalog().FindReplicable(table);
    EXPECT_NE(t, nullptr);
    if (t == nullptr) return 0;
    EXPECT_TRUE(snapshotter_->Start(*t).ok());
    int steps = 0;
    while (true) {
      auto s = snapshotter_->Step(watcher_->catalog());
      EXPECT_TRUE(s.ok()) << s.status().ToString();
      if (!s.ok()) return steps;
      ++steps;
      EXPECT_FALSE(capture_.InTransaction());  // never holds a read open between chunks
      if (*s == SnapshotStep::kDone) return steps;
      EXPECT_EQ(*s, SnapshotStep::kMore);
      if (steps > 100000) return steps;
    }
  }

  std::vector<Record> Records() {
    auto r = testing::ReadOutbox(fs_.get(), dir_->Child("outbox"));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<Record>{};
  }

  std::string Diff() {
    testing::Replica replica;
    Status s = replica.ApplyAll(Records());
    if (!s.ok()) return s.ToString();
    auto diff = replica.Diff(&capture_, watcher_->catalog());
    return diff.ok() ? *diff : diff.status().ToString();
  }

  std::unique_ptr<ScopedTempDir> dir_;
  std::unique_ptr<FileSystem> fs_;
  FakeClock clock_;
  CapturingLogger logger_;
  std::string db_path_;
  SqliteDb app_;
  SqliteDb capture_;
  std::unique_ptr<SchemaWatcher> watcher_;
  std::unique_ptr<outbox::OutboxWriter> writer_;
  std::unique_ptr<RecordEmitter> emitter_;
  std::unique_ptr<Drainer> drainer_;
  std::unique_ptr<Snapshotter> snapshotter_;
  std::vector<SnapshotProgress> progress_;
};

TEST_F(SnapshotterTest, SnapshotIsChunkedAndBracketedByBeginAndEnd) {
  SnapshotOptions o;
  o.chunk_rows = 1000;
  Install(
      "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);"
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2500) "
      "INSERT INTO t SELECT i, 'v' || i FROM c;",
      o);
  EXPECT_EQ(Snapshot("t"), 3);
  auto recs = Records();
  ASSERT_EQ(recs.size(), 2503u);
  EXPECT_EQ(recs[0].type, RecordType::kSchema);
  EXPECT_EQ(recs[1].type, RecordType::kSnapshotBegin);
  EXPECT_EQ(recs[1].table, "t");
  for (size_t i = 2; i < 2502; ++i) {
    ASSERT_EQ(recs[i].type, RecordType::kUpsert);
    EXPECT_EQ(recs[i].key[0], Value::Integer(static_cast<int64_t>(i - 1)));  // key order
    EXPECT_EQ(recs[i].source_seq, 0u);
  }
  EXPECT_EQ(recs[2502].type, RecordType::kSnapshotEnd);
  EXPECT_EQ(recs[2502].snapshot_begin_offset, recs[1].offset);
  EXPECT_EQ(Diff(), "");
  ASSERT_FALSE(progress_.empty());
  EXPECT_TRUE(progress_.back().done);
  EXPECT_EQ(progress_.back().rows, 2500u);
  EXPECT_EQ(progress_.back().total_rows, 2500);
  EXPECT_EQ(progress_[0].rows, 1000u);
  EXPECT_TRUE(logger_.Contains("snapshot of \"t\" done: 2500 rows"));
}

TEST_F(SnapshotterTest, ChunksAreAlsoBoundedByBytes) {
  SnapshotOptions o;
  o.chunk_rows = 1000;
  o.chunk_bytes = 100000;
  Install(
      "CREATE TABLE t (id TEXT NOT NULL PRIMARY KEY, body BLOB);"
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 50) "
      "INSERT INTO t SELECT printf('%03d', i), zeroblob(30000) FROM c;",
      o);
  EXPECT_EQ(Snapshot("t"), 13);  // 4 rows (120 kB) per chunk, the last chunk finds the end
  EXPECT_EQ(Diff(), "");
}

TEST_F(SnapshotterTest, EmptyTableIsJustBeginAndEnd) {
  Install("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  EXPECT_EQ(Snapshot("t"), 1);
  auto recs = Records();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[1].type, RecordType::kSnapshotBegin);
  EXPECT_EQ(recs[2].type, RecordType::kSnapshotEnd);
}

TEST_F(SnapshotterTest, WritesDuringTheSnapshotConverge) {
  SnapshotOptions o;
  o.chunk_rows = 7;
  Install(
      "CREATE TABLE t (a TEXT NOT NULL, b INTEGER NOT NULL, v, PRIMARY KEY (a, b));"
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100) "
      "INSERT INTO t SELECT 'k' || (i % 10), i, i FROM c;",
      o);
  const TableInfo* t = watcher_->catalog().FindReplicable("t");
  ASSERT_TRUE(snapshotter_->Start(*t).ok());
  int i = 0;
  while (true) {
    // Deletes behind and ahead of the cursor, inserts, updates and key changes meanwhile.
    Exec("DELETE FROM t WHERE b = " + std::to_string(100 - i));
    Exec("DELETE FROM t WHERE b = " + std::to_string(i + 1));
    Exec("INSERT INTO t VALUES ('new', " + std::to_string(1000 + i) + ", 'n')");
    Exec("UPDATE t SET v = v || '+' WHERE b % 13 = " + std::to_string(i % 13));
    Exec("UPDATE t SET a = 'moved' WHERE b = " + std::to_string(50 + i % 10));
    if (i % 3 == 0) Drain();
    auto s = snapshotter_->Step(watcher_->catalog());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ++i;
    if (*s == SnapshotStep::kDone) break;
    ASSERT_LT(i, 1000);
  }
  Drain();
  EXPECT_EQ(Diff(), "");
}

TEST_F(SnapshotterTest, ResnapshotCatchesDeletesNoTriggerSaw) {
  Install("CREATE TABLE u (id TEXT NOT NULL PRIMARY KEY, email TEXT NOT NULL UNIQUE)");
  Exec("INSERT INTO u VALUES ('1', 'a@x'), ('2', 'b@x')");
  Drain();
  // The table's triggers are gone for a while (a rebuild drops them): a delete goes unseen.
  for (const auto& def : TriggerInstaller::TriggersFor(*watcher_->catalog().Find("u"))) {
    ASSERT_TRUE(capture_.Exec("DROP TRIGGER " + QuoteIdentifier(def.name)).ok());
  }
  Exec("DELETE FROM u WHERE id = '1'");
  ASSERT_TRUE(watcher_->Reconcile().ok());  // the triggers come back (and owe this snapshot)
  Drain();
  EXPECT_NE(Diff(), "");  // the outbox still has row '1'
  testing::Replica before;
  ASSERT_TRUE(before.ApplyAll(Records()).ok());
  EXPECT_TRUE(before.HasRow("u", {Value::Text("1")}));
  Snapshot("u");
  EXPECT_EQ(Diff(), "");
  testing::Replica after;
  ASSERT_TRUE(after.ApplyAll(Records()).ok());
  EXPECT_FALSE(after.HasRow("u", {Value::Text("1")}));
  EXPECT_EQ(after.RowCount("u"), 1u);
}

TEST_F(SnapshotterTest, RowsWithNullKeysAreCarried) {
  SnapshotOptions o;
  o.chunk_rows = 2;
  Install(
      "CREATE TABLE n (k TEXT PRIMARY KEY, v);"
      "INSERT INTO n VALUES (NULL, 1), ('a', 2), (NULL, 3), ('b', 4), ('c', 5), (NULL, 6);",
      o);
  Snapshot("n");
  size_t upserts = 0, null_keys = 0;
  for (const auto& r : Records()) {
    if (r.type != RecordType::kUpsert) continue;
    ++upserts;
    if (r.key[0].is_null()) ++null_keys;
  }
  EXPECT_EQ(null_keys, 3u);  // each NULL-key row once, read by rowid
  EXPECT_EQ(upserts, 6u);
}

TEST_F(SnapshotterTest, MixedTypeAndOddlyNamedKeysPageCorrectly) {
  SnapshotOptions o;
  o.chunk_rows = 3;
  Install(
      "CREATE TABLE \"odd \"\"t\"\"\" (\"k 1\" NOT NULL, \"k\"\"2\" NOT NULL, \"select\", "
      "PRIMARY KEY (\"k 1\", \"k\"\"2\")) WITHOUT ROWID;"
      "INSERT INTO \"odd \"\"t\"\"\" VALUES (1, 'x', 1), (1, X'00', 2), (2.5, 'y', 3), "
      "('1', 'z', 4), (X'01', 1, 5), ('a', 'b', 6), ('a', 'a', 7), (-1, -1, 8);",
      o);
  Snapshot("odd \"t\"");
  EXPECT_EQ(Diff(), "");
  size_t upserts = 0;
  for (const auto& r : Records()) upserts += r.type == RecordType::kUpsert;
  EXPECT_EQ(upserts, 8u);
}

TEST_F(SnapshotterTest, KeyChangeOfTheTableRestartsTheSnapshot) {
  SnapshotOptions o;
  o.chunk_rows = 1;
  Install(
      "CREATE TABLE t (id TEXT NOT NULL, v TEXT NOT NULL); CREATE UNIQUE INDEX t_id ON t(id);"
      "INSERT INTO t VALUES ('a', '1'), ('b', '2');",
      o);
  ASSERT_TRUE(snapshotter_->Start(*watcher_->catalog().FindReplicable("t")).ok());
  ASSERT_EQ(*snapshotter_->Step(watcher_->catalog()), SnapshotStep::kMore);
  Exec("DROP INDEX t_id; CREATE UNIQUE INDEX t_v ON t(v);");
  ASSERT_EQ(*snapshotter_->Step(watcher_->catalog()), SnapshotStep::kSchemaChanged);
  ASSERT_TRUE(watcher_->Reconcile().ok());
  EXPECT_EQ(*snapshotter_->Step(watcher_->catalog()), SnapshotStep::kRestart);
  EXPECT_FALSE(snapshotter_->active());
}

}  // namespace
}  // namespace owsync::capture
