#include "capture/drainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <utility>

#include "capture/capture_meta.h"
#include "capture/capture_testing.h"
#include "capture/changelog.h"
#include "capture/record_emitter.h"
#include "capture/schema_watcher.h"
#include "capture/sqlite_txn.h"
#include "util/fake_clock.h"
#include "util/logger.h"
#include "util/scoped_temp_dir.h"

namespace owsync::capture {
namespace {

using outbox::Record;
using outbox::RecordType;
using outbox::Value;
using std::string_literals::operator""s;

// Delegates to a real writer; runs `before_commit` (once) when Commit is called, so a test can
// act between the drain's database read and its changelog delete.
class HookedWriter : public outbox::OutboxWriter {
 public:
  explicit HookedWriter(std::unique_ptr<outbox::OutboxWriter> w) : w_(std::move(w)) {}
  Result<uint64_t> Append(Record* record) override { return w_->Append(record); }
  Status Commit() override {
    if (before_commit) std::exchange(before_commit, nullptr)();
    return w_->Commit();
  }
  uint64_t durable_offset() const override { return w_->durable_offset(); }
  uint64_t next_offset() const override { return w_->next_offset(); }
  const std::string& outbox_id() const override { return w_->outbox_id(); }
  const std::string& database_generation() const override { return w_->database_generation(); }
  uint64_t buffered_bytes() const override { return w_->buffered_bytes(); }
  Result<uint64_t> ApplyRetention() override { return w_->ApplyRetention(); }
  Result<uint64_t> DiskUsage() override { return w_->DiskUsage(); }
  Status StartNewGeneration(const std::string& g, uint64_t min_first) override {
    return w_->StartNewGeneration(g, min_first);
  }
  std::function<void()> before_commit;

 private:
  std::unique_ptr<outbox::OutboxWriter> w_;
};

class DrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("capture-drainer-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<ScopedTempDir>(std::move(dir).value());
    fs_ = NewPosixFileSystem();
  }

  void Install(const std::string& sql, const std::string& journal = "delete") {
    db_path_ = dir_->Child("d.db");
    auto db = testing::CreateDb(db_path_, sql, journal);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    app_ = std::move(db).value();
    SqliteDbOptions o;
    o.busy_timeout_ms = 50;
    auto cap = SqliteDb::Open(db_path_, o);
    ASSERT_TRUE(cap.ok());
    capture_ = std::move(cap).value();
    ASSERT_TRUE(testing::CreateCaptureTables(&capture_).ok());
    watcher_ = std::make_unique<SchemaWatcher>(&capture_, TableFilter(), &logger_);
    ASSERT_TRUE(watcher_->Reconcile().ok());
    auto w = outbox::OutboxWriter::Open(fs_.get(), &clock_, dir_->Child("outbox"), {});
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    writer_ = std::make_unique<HookedWriter>(std::move(w).value());
    emitter_ = std::make_unique<RecordEmitter>(writer_.get());
    NewDrainer({});
  }

  void NewDrainer(DrainOptions options) {
    drainer_ = std::make_unique<Drainer>(&capture_, emitter_.get(), &clock_, &logger_, options);
  }

  void Exec(const std::string& sql) { ASSERT_TRUE(app_.Exec(sql).ok()) << sql; }

  DrainResult Drain() {
    auto r = drainer_->DrainOnce(watcher_->catalog());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : DrainResult{};
  }

  std::vector<Record> Records() {
    auto r = testing::ReadOutbox(fs_.get(), dir_->Child("outbox"));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<Record>{};
  }

  std::vector<Record> DataRecords() {
    std::vector<Record> out;
    for (auto& r : Records()) {
      if (r.type == RecordType::kUpsert || r.type == RecordType::kDelete) out.push_back(r);
    }
    return out;
  }

  // The outbox applied to an empty copy equals the database.
  void ExpectReplicaEqualsDatabase() {
    testing::Replica replica;
    ASSERT_TRUE(replica.ApplyAll(Records()).ok());
    auto diff = replica.Diff(&capture_, watcher_->catalog());
    ASSERT_TRUE(diff.ok()) << diff.status().ToString();
    EXPECT_EQ(*diff, "");
  }

  int64_t ChangelogRows() { return *capture_.QueryInt64("SELECT count(*) FROM _owsync_changes"); }

  std::unique_ptr<ScopedTempDir> dir_;
  std::unique_ptr<FileSystem> fs_;
  FakeClock clock_;
  CapturingLogger logger_;
  std::string db_path_;
  SqliteDb app_;
  SqliteDb capture_;
  std::unique_ptr<SchemaWatcher> watcher_;
  std::unique_ptr<HookedWriter> writer_;
  std::unique_ptr<RecordEmitter> emitter_;
  std::unique_ptr<Drainer> drainer_;
};

TEST_F(DrainerTest, CoalescesPerKeyAndReadsCurrentImages) {
  Install("CREATE TABLE t (id TEXT NOT NULL PRIMARY KEY, v INT)");
  Exec("INSERT INTO t VALUES ('a', 1)");
  for (int i = 2; i <= 4; ++i) Exec("UPDATE t SET v = " + std::to_string(i) + " WHERE id = 'a'");
  Exec("INSERT INTO t VALUES ('b', 1)");
  Exec("DELETE FROM t WHERE id = 'b'");
  DrainResult r = Drain();
  EXPECT_EQ(r.entries, 6u);
  EXPECT_EQ(r.upserts, 1u);
  EXPECT_EQ(r.deletes, 1u);
  EXPECT_FALSE(r.more);
  EXPECT_EQ(r.last_seq, 6);
  auto recs = Records();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].type, RecordType::kSchema);
  EXPECT_EQ(recs[0].columns.size(), 2u);
  EXPECT_EQ(recs[1].type, RecordType::kUpsert);
  EXPECT_EQ(recs[1].key, std::vector<Value>{Value::Text("a")});
  EXPECT_EQ(recs[1].row, (std::vector<Value>{Value::Text("a"), Value::Integer(4)}));
  EXPECT_EQ(recs[1].source_seq, 4u);
  EXPECT_EQ(recs[2].type, RecordType::kDelete);
  EXPECT_EQ(recs[2].key, std::vector<Value>{Value::Text("b")});
  EXPECT_EQ(ChangelogRows(), 0);
  EXPECT_EQ(**CaptureMeta(&capture_).Get(CaptureMeta::kDrainedSeq), "6");
  EXPECT_EQ(Drain().entries, 0u);
  EXPECT_EQ(Records().size(), 3u);
}

TEST_F(DrainerTest, KeyChangeBecomesDeleteOfOldAndUpsertOfNew) {
  Install("CREATE TABLE t (a TEXT NOT NULL, b INT NOT NULL, v, PRIMARY KEY (a, b))");
  Exec("INSERT INTO t VALUES ('x', 1, 'v')");
  Drain();
  Exec("UPDATE t SET b = 2");
  Drain();
  auto recs = DataRecords();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[1].type, RecordType::kDelete);
  EXPECT_EQ(recs[1].key, (std::vector<Value>{Value::Text("x"), Value::Integer(1)}));
  EXPECT_EQ(recs[2].type, RecordType::kUpsert);
  EXPECT_EQ(recs[2].key, (std::vector<Value>{Value::Text("x"), Value::Integer(2)}));
  ExpectReplicaEqualsDatabase();
}

TEST_F(DrainerTest, KeysAreMatchedExactlyNotByCollation) {
  Install("CREATE TABLE t (id TEXT COLLATE NOCASE NOT NULL PRIMARY KEY, v)");
  Exec("INSERT INTO t VALUES ('abc', 1)");
  Drain();
  Exec("UPDATE t SET id = 'ABC'");
  Drain();
  testing::Replica replica;
  ASSERT_TRUE(replica.ApplyAll(Records()).ok());
  EXPECT_FALSE(replica.HasRow("t", {Value::Text("abc")}));
  EXPECT_TRUE(replica.HasRow("t", {Value::Text("ABC")}));
  ExpectReplicaEqualsDatabase();
}

TEST_F(DrainerTest, WrongTypedAndExtremeValuesAreCarriedExactly) {
  Install("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, r REAL, s TEXT, b BLOB, j JSON)");
  Exec("INSERT INTO t VALUES (1, 'not a number', 'text in real', 42, 3.5, X'00')");
  Exec(
      "INSERT INTO t VALUES (2, 9223372036854775807, -0.0, 'a' || char(0) || 'b', X'', "
      "CAST(X'FF00FE' AS TEXT))");
  Exec(
      "INSERT INTO t VALUES (3, -9223372036854775808, 1e308 * 10, NULL, zeroblob(3), "
      "'{\"a\":\"\\u0000\"}')");
  Exec("INSERT INTO t VALUES (-4, 0, -1e308 * 10, '', NULL, 0.1)");
  Drain();
  auto recs = DataRecords();
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[0].row[1], Value::Text("not a number"));
  EXPECT_EQ(recs[0].row[2], Value::Text("text in real"));
  EXPECT_EQ(recs[0].row[3], Value::Text("42"));  // TEXT affinity converted it on insert
  EXPECT_EQ(recs[0].row[4], Value::Real(3.5));
  EXPECT_EQ(recs[1].row[1], Value::Integer(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(recs[1].row[3], Value::Text(std::string("a\0b", 3)));
  EXPECT_EQ(recs[1].row[4], Value::Blob(""));
  EXPECT_EQ(recs[1].row[5], Value::Text("\xff\x00\xfe"s));
  EXPECT_EQ(recs[2].row[1], Value::Integer(std::numeric_limits<int64_t>::min()));
  EXPECT_EQ(recs[2].row[2], Value::Real(std::numeric_limits<double>::infinity()));
  EXPECT_EQ(recs[2].row[4], Value::Blob(std::string(3, '\0')));
  EXPECT_EQ(recs[3].key, std::vector<Value>{Value::Integer(-4)});
  EXPECT_EQ(recs[3].row[2], Value::Real(-std::numeric_limits<double>::infinity()));
  EXPECT_EQ(recs[3].row[5], Value::Real(0.1));
  ExpectReplicaEqualsDatabase();
}

TEST_F(DrainerTest, BatchesAreBoundedByCountAndBytes) {
  Install("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)");
  Exec("BEGIN");
  for (int i = 0; i < 20; ++i) {
    Exec("INSERT INTO t VALUES (" + std::to_string(i) + ", zeroblob(100000))");
  }
  Exec("COMMIT");
  DrainOptions o;
  o.max_bytes = 250'000;
  o.max_changes = 1000;
  NewDrainer(o);
  DrainResult first = Drain();
  EXPECT_TRUE(first.more);
  EXPECT_EQ(first.upserts, 3u);  // the third one crosses the bound
  EXPECT_EQ(first.entries, 3u);
  EXPECT_EQ(ChangelogRows(), 17);
  int rounds = 1;
  while (Drain().more) ++rounds;
  EXPECT_EQ(rounds, 6);
  EXPECT_EQ(ChangelogRows(), 0);
  o.max_bytes = 1 << 30;
  o.max_changes = 4;
  NewDrainer(o);
  Exec("UPDATE t SET body = X'01' WHERE id < 10");
  DrainResult counted = Drain();
  EXPECT_EQ(counted.entries, 4u);
  EXPECT_TRUE(counted.more);
  while (Drain().more) {
  }
  ExpectReplicaEqualsDatabase();
}

TEST_F(DrainerTest, A64MiBRowDrains) {
  Install("CREATE TABLE chat (id TEXT NOT NULL PRIMARY KEY, chat TEXT)");
  Exec(
      "INSERT INTO chat VALUES ('big', '{\"m\":\"' || replace(hex(zeroblob(33554432)), '00', "
      "'ab') || '\"}')");
  DrainOptions o;
  o.max_bytes = 16 << 20;
  NewDrainer(o);
  DrainResult r = Drain();
  EXPECT_EQ(r.upserts, 1u);
  EXPECT_GT(r.row_bytes, 64u << 20);
  auto recs = DataRecords();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].row[1].bytes.size(), 2u * 33554432u * 2u / 2u + 8u);
  ExpectReplicaEqualsDatabase();
}

TEST_F(DrainerTest, BusyDeleteIsRetriedBeforeAnythingNewIsDrained) {
  Install("CREATE TABLE t (id INTEGER PRIMARY KEY, v)");
  Exec("INSERT INTO t VALUES (1, 'a')");
  // The application takes the write lock after the drain read its batch (a drain read is a
  // write transaction: it rotates the drain token), before the delete.
  writer_->before_commit = [this] { Exec("BEGIN IMMEDIATE"); };
  DrainResult r = Drain();
  EXPECT_TRUE(r.delete_pending);
  EXPECT_EQ(r.upserts, 1u);
  EXPECT_TRUE(drainer_->delete_pending());
  EXPECT_EQ(DataRecords().size(), 1u);  // durable before the (pending) delete
  DrainResult again = Drain();
  EXPECT_TRUE(again.delete_pending);
  EXPECT_EQ(again.upserts, 0u);
  Exec("INSERT INTO t VALUES (2, 'b')");
  Exec("COMMIT");
  EXPECT_EQ(ChangelogRows(), 2);
  DrainResult after = Drain();
  EXPECT_FALSE(after.delete_pending);
  EXPECT_EQ(after.upserts, 1u);  // only the new key: the first entry was deleted first
  EXPECT_EQ(ChangelogRows(), 0);
  ExpectReplicaEqualsDatabase();
}

TEST_F(DrainerTest, CrashBetweenDurableCommitAndDeleteRedrainsHarmlessly) {
  Install("CREATE TABLE t (id INTEGER PRIMARY KEY, v)");
  Exec("INSERT INTO t VALUES (1, 'a'), (2, 'b')");
  writer_->before_commit = [this] { Exec("BEGIN IMMEDIATE"); };
  EXPECT_TRUE(Drain().delete_pending);
  drainer_.reset();  // the process dies with the delete not done
  Exec("UPDATE t SET v = 'c' WHERE id = 1");
  Exec("COMMIT");
  NewDrainer({});
  DrainResult r = Drain();
  EXPECT_EQ(r.entries, 3u);
  EXPECT_EQ(r.upserts, 2u);
  EXPECT_EQ(DataRecords().size(), 4u);
  ExpectReplicaEqualsDatabase();
}

TEST_F(DrainerTest, StaleCatalogIsReportedAndNothingIsDrained) {
  Install("CREATE TABLE t (id INTEGER PRIMARY KEY, v)");
  Exec("INSERT INTO t VALUES (1, 'a')");
  Exec("ALTER TABLE t ADD COLUMN w DEFAULT 'new'");
  DrainResult r = Drain();
  EXPECT_TRUE(r.schema_changed);
  EXPECT_EQ(ChangelogRows(), 1);
  ASSERT_TRUE(watcher_->Reconcile().ok());
  r = Drain();
  EXPECT_EQ(r.upserts, 1u);
  auto recs = DataRecords();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].row.size(), 3u);
  EXPECT_EQ(recs[0].row[2], Value::Text("new"));
}

TEST_F(DrainerTest, EntriesOfTablesNotReplicatedAreConsumedWithAWarning) {
  Install("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  Exec("INSERT INTO _owsync_changes (tbl, op, ts, k1) VALUES ('ghost', 1, 0, 1)");
  Exec("INSERT INTO t VALUES (1)");
  DrainResult r = Drain();
  EXPECT_EQ(r.entries, 2u);
  EXPECT_EQ(r.unreplicated, 1u);
  EXPECT_EQ(r.upserts, 1u);
  EXPECT_TRUE(logger_.Contains("\"ghost\""));
  EXPECT_EQ(ChangelogRows(), 0);
}

TEST_F(DrainerTest, NullableKeyRowsAreLookedUpWithIs) {
  Install("CREATE TABLE n (k TEXT PRIMARY KEY, v)");
  Exec("INSERT INTO n VALUES (NULL, 1)");
  Drain();
  Exec("DELETE FROM n WHERE k IS NULL");
  Drain();
  auto recs = DataRecords();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].type, RecordType::kUpsert);
  EXPECT_EQ(recs[0].key, std::vector<Value>{Value::Null()});
  EXPECT_EQ(recs[0].row[1], Value::Integer(1));
  EXPECT_EQ(recs[1].type, RecordType::kDelete);
  EXPECT_EQ(recs[1].key, std::vector<Value>{Value::Null()});
}

TEST_F(DrainerTest, WorksInWalModeWithAnOpenReader) {
  Install("CREATE TABLE t (id INTEGER PRIMARY KEY, v)", "wal");
  Exec("INSERT INTO t VALUES (1, 'a')");
  auto reader = testing::OpenApp(db_path_);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(reader->Exec("BEGIN").ok());
  ASSERT_TRUE(reader->QueryInt64("SELECT count(*) FROM t").ok());  // holds a WAL snapshot
  DrainResult r = Drain();
  EXPECT_FALSE(r.delete_pending);
  EXPECT_EQ(r.upserts, 1u);
  ASSERT_TRUE(reader->Exec("COMMIT").ok());
  ExpectReplicaEqualsDatabase();
}

}  // namespace
}  // namespace owsync::capture
