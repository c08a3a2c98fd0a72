#include "capture/verify_scheduler.h"

#include <gtest/gtest.h>

#include <memory>

#include "canonical/row_digest.h"
#include "capture/capture_meta.h"
#include "capture/capture_testing.h"
#include "capture/changelog.h"
#include "capture/drainer.h"
#include "capture/record_emitter.h"
#include "capture/schema_watcher.h"
#include "capture/sqlite_txn.h"
#include "outbox/outbox_writer.h"
#include "outbox/verify_range.h"
#include "util/fake_clock.h"
#include "util/logger.h"
#include "util/scoped_temp_dir.h"

namespace owsync::capture {
namespace {

using outbox::Record;
using outbox::RecordType;
using outbox::Value;
using outbox::VerifyRange;

class VerifySchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("owsync-verify-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<ScopedTempDir>(std::move(dir).value());
    fs_ = NewPosixFileSystem();
  }
  void Install(const std::string& sql) {
    auto db = testing::CreateDb(dir_->Child("d.db"), sql, "wal");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    app_ = std::move(db).value();
    auto cap = SqliteDb::Open(dir_->Child("d.db"), {});
    ASSERT_TRUE(cap.ok());
    capture_ = std::move(cap).value();
    ASSERT_TRUE(testing::CreateCaptureTables(&capture_).ok());
    watcher_ = std::make_unique<SchemaWatcher>(&capture_, TableFilter(), &logger_);
    ASSERT_TRUE(watcher_->Reconcile().ok());
    auto w = outbox::OutboxWriter::Open(fs_.get(), &clock_, dir_->Child("outbox"), {});
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    writer_ = std::move(w).value();
    emitter_ = std::make_unique<RecordEmitter>(writer_.get());
  }
  std::unique_ptr<VerifyScheduler> Scheduler(VerifyOptions o) {
    return std::make_unique<VerifyScheduler>(&capture_, emitter_.get(), &clock_, &logger_, o);
  }
  std::vector<VerifyRange> Ranges() {
    auto records = testing::ReadOutbox(fs_.get(), dir_->Child("outbox"));
    EXPECT_TRUE(records.ok());
    std::vector<VerifyRange> out;
    for (const Record& r : *records) {
      if (r.type != RecordType::kVerify) continue;
      auto v = VerifyRange::FromRecord(r);
      EXPECT_TRUE(v.ok()) << v.status().ToString();
      out.push_back(*v);
    }
    return out;
  }
  void Exec(const std::string& sql) { ASSERT_TRUE(app_.Exec(sql).ok()) << sql; }
  // `steps` wakeups of the capture loop, a millisecond apart.
  int Run(VerifyScheduler* s, int steps) {
    int emitted = 0;
    for (int i = 0; i < steps; ++i) {
      clock_.Advance(1000);
      auto r = s->Step(watcher_->catalog(), {});
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      emitted += r.ok() && *r;
    }
    return emitted;
  }

  std::unique_ptr<ScopedTempDir> dir_;
  std::unique_ptr<FileSystem> fs_;
  FakeClock clock_;
  CapturingLogger logger_;
  SqliteDb app_, capture_;
  std::unique_ptr<SchemaWatcher> watcher_;
  std::unique_ptr<outbox::OutboxWriter> writer_;
  std::unique_ptr<RecordEmitter> emitter_;
};

TEST_F(VerifySchedulerTest, APassTilesEveryTableAndDigestsEveryRow) {
  Install(
      "CREATE TABLE a (id TEXT PRIMARY KEY, v TEXT);"
      "CREATE TABLE b (k INTEGER PRIMARY KEY, doc JSON);"
      "CREATE TABLE e (id TEXT PRIMARY KEY);"
      "CREATE TABLE n (name TEXT COLLATE NOCASE PRIMARY KEY);"
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 25) "
      "INSERT INTO a SELECT 'k' || i, 'v' || i FROM c;"
      "INSERT INTO b VALUES (1, '{\"x\": 1}'), (2, NULL); INSERT INTO n VALUES ('X')");
  VerifyOptions o;
  o.rows_per_second = 1e9;
  o.chunk_rows = 10;
  auto s = Scheduler(o);
  EXPECT_EQ(Run(s.get(), 20), 6);  // a: 10 + 10 + 5; b: 2; e: empty; n: 1
  auto ranges = Ranges();
  ASSERT_EQ(ranges.size(), 6u);
  EXPECT_EQ(ranges[0].table, "a");
  EXPECT_TRUE(ranges[0].lower.empty());
  EXPECT_EQ(ranges[0].upper, ranges[1].lower) << "ranges of a table tile its keys";
  EXPECT_EQ(ranges[1].upper, ranges[2].lower);
  EXPECT_TRUE(ranges[2].upper.empty()) << "the last range runs to the end";
  EXPECT_EQ(ranges[0].entries.size() + ranges[1].entries.size() + ranges[2].entries.size(), 25u);
  EXPECT_EQ(ranges[3].table, "b");
  ASSERT_EQ(ranges[3].entries.size(), 2u);
  const auto fam = canonical::RowDigest::FamiliesOf({"INTEGER", "JSON"});
  EXPECT_EQ(ranges[3].entries[0].digest,
            canonical::RowDigest::Of(fam, {Value::Integer(1), Value::Text("{\"x\":1}")}));
  EXPECT_EQ(ranges[4].table, "e");
  EXPECT_TRUE(ranges[4].entries.empty()) << "an empty table is still checked";
  EXPECT_FALSE(ranges[4].keys_only);
  EXPECT_EQ(ranges[5].table, "n");
  EXPECT_TRUE(ranges[5].keys_only) << "NOCASE keys: PostgreSQL cannot order them";
  EXPECT_TRUE(logger_.Contains("pass done"));
  // The next pass waits for the interval.
  clock_.Advance(3600'000'000);
  EXPECT_EQ(Run(s.get(), 3), 0);
  clock_.Advance(24LL * 3600'000'000);
  EXPECT_EQ(Run(s.get(), 1), 1);
}

TEST_F(VerifySchedulerTest, TheBudgetPacesChunksAndARestartGoesOnWhereItStopped) {
  Install(
      "CREATE TABLE a (id INTEGER PRIMARY KEY);"
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 50) "
      "INSERT INTO a SELECT i FROM c");
  VerifyOptions o;
  o.rows_per_second = 10;
  o.chunk_rows = 10;
  auto s = Scheduler(o);
  EXPECT_EQ(Run(s.get(), 5), 1) << "one chunk's worth of budget at the start";
  EXPECT_FALSE(s->Due());
  clock_.Advance(1'000'000);
  EXPECT_TRUE(s->Due());
  EXPECT_EQ(Run(s.get(), 5), 1);
  // A new process: the cursor comes from _owsync_meta; the bucket holds one chunk at most.
  auto again = Scheduler(o);
  clock_.Advance(10'000'000);
  EXPECT_EQ(Run(again.get(), 10), 1);
  for (int i = 0; i < 2; ++i) {
    clock_.Advance(1'000'000);
    EXPECT_EQ(Run(again.get(), 1), 1);
  }
  auto ranges = Ranges();
  ASSERT_EQ(ranges.size(), 5u);
  size_t rows = 0;
  for (size_t i = 0; i < ranges.size(); ++i) {
    rows += ranges[i].entries.size();
    if (i > 0) {
      EXPECT_EQ(ranges[i].lower, ranges[i - 1].upper);
    }
  }
  EXPECT_EQ(rows, 50u);
}

TEST_F(VerifySchedulerTest, NothingIsReadWhileTheChangelogHoldsChanges) {
  Install("CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO a VALUES (1, 'x')");
  VerifyOptions o;
  o.rows_per_second = 1e9;
  auto s = Scheduler(o);
  Exec("UPDATE a SET v = 'y'");  // logged, not drained
  EXPECT_EQ(Run(s.get(), 3), 0);
  Drainer drainer(&capture_, emitter_.get(), &clock_, &logger_, {});
  ASSERT_TRUE(drainer.DrainOnce(watcher_->catalog()).ok());
  EXPECT_EQ(Run(s.get(), 1), 1);
  EXPECT_EQ(Ranges().back().entries.size(), 1u);
}

TEST_F(VerifySchedulerTest, IntervalZeroIsOff) {
  Install("CREATE TABLE a (id INTEGER PRIMARY KEY); INSERT INTO a VALUES (1)");
  VerifyOptions o;
  o.interval_micros = 0;
  auto s = Scheduler(o);
  EXPECT_FALSE(s->Due());
  EXPECT_EQ(Run(s.get(), 3), 0);
  EXPECT_TRUE(Ranges().empty());
}

}  // namespace
}  // namespace owsync::capture
