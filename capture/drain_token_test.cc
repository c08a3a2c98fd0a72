#include "capture/drain_token.h"

#include <gtest/gtest.h>

#include <memory>

#include "capture/capture_meta.h"
#include "capture/capture_testing.h"
#include "capture/outbox_high_water.h"
#include "capture/sqlite_txn.h"
#include "util/fake_clock.h"
#include "util/scoped_temp_dir.h"

namespace owsync::capture {
namespace {

class DrainTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("capture-drain-token-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<ScopedTempDir>(std::move(dir).value());
    fs_ = NewPosixFileSystem();
    auto db =
        testing::CreateDb(dir_->Child("d.db"), "CREATE TABLE t (id INTEGER PRIMARY KEY)", "wal");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto txn = SqliteTxn::BeginImmediate(&db_);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(CaptureMeta(&db_).Create().ok());
    ASSERT_TRUE(txn->Commit().ok());
    auto w = outbox::OutboxWriter::Open(fs_.get(), &clock_, dir_->Child("outbox"), {});
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    writer_ = std::move(w).value();
    emitter_ = std::make_unique<RecordEmitter>(writer_.get());
    table_.name = "t";
    table_.columns = {{"id", "INTEGER", 1, false}};
  }

  // One rotated read appending one row, committed to the database.
  void RotateAndAppend(int64_t id) {
    ASSERT_TRUE(DrainToken::Settle(emitter_.get()).ok());
    auto txn = SqliteTxn::BeginImmediate(&db_);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(DrainToken::Rotate(&db_, emitter_.get()).ok());
    outbox::Record r;
    r.type = outbox::RecordType::kUpsert;
    r.key = {outbox::Value::Integer(id)};
    r.row = r.key;
    ASSERT_TRUE(emitter_->AppendData(table_, &r).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }

  std::string Meta(const char* key) {
    auto v = CaptureMeta(&db_).Get(key);
    EXPECT_TRUE(v.ok());
    return v.ok() && v->has_value() ? **v : std::string("(none)");
  }

  std::string OutboxToken() {
    auto tail = ScanOutboxTail(fs_.get(), dir_->Child("outbox"), writer_->durable_offset(), 100);
    EXPECT_TRUE(tail.ok()) << tail.status().ToString();
    return tail.ok() ? tail->token : "";
  }

  std::unique_ptr<ScopedTempDir> dir_;
  std::unique_ptr<FileSystem> fs_;
  FakeClock clock_;
  SqliteDb db_;
  std::unique_ptr<outbox::OutboxWriter> writer_;
  std::unique_ptr<RecordEmitter> emitter_;
  TableInfo table_;
};

TEST_F(DrainTokenTest, RotationRecordsTheOutboxsLastDurableTokenAsPrev) {
  RotateAndAppend(1);
  const std::string t1 = Meta(CaptureMeta::kDrainToken);
  EXPECT_EQ(Meta(CaptureMeta::kPrevDrainToken), "");
  EXPECT_EQ(emitter_->token(), t1);
  EXPECT_EQ(OutboxToken(), "");  // nothing durable yet
  ASSERT_TRUE(emitter_->Commit().ok());
  EXPECT_EQ(OutboxToken(), t1);
  RotateAndAppend(2);
  const std::string t2 = Meta(CaptureMeta::kDrainToken);
  EXPECT_NE(t2, t1);
  EXPECT_EQ(Meta(CaptureMeta::kPrevDrainToken), t1);
  ASSERT_TRUE(emitter_->Commit().ok());
  EXPECT_EQ(OutboxToken(), t2);
}

TEST_F(DrainTokenTest, SettleCommitsBufferedRecordsOfARotatedTokenBeforeTheNextRotation) {
  RotateAndAppend(1);
  const std::string t1 = Meta(CaptureMeta::kDrainToken);
  RotateAndAppend(2);  // no Commit in between: Settle made t1's record durable first
  EXPECT_EQ(OutboxToken(), t1);
  EXPECT_EQ(Meta(CaptureMeta::kPrevDrainToken), t1);
}

TEST_F(DrainTokenTest, ARotationWithoutRecordsKeepsPrevAtTheDurableToken) {
  RotateAndAppend(1);
  ASSERT_TRUE(emitter_->Commit().ok());
  const std::string t1 = Meta(CaptureMeta::kDrainToken);
  {
    auto txn = SqliteTxn::BeginImmediate(&db_);  // a batch of unreplicated entries only
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(DrainToken::Rotate(&db_, emitter_.get()).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  ASSERT_TRUE(emitter_->Commit().ok());
  EXPECT_EQ(emitter_->committed_token(), t1);
  RotateAndAppend(2);
  EXPECT_EQ(Meta(CaptureMeta::kPrevDrainToken), t1);
}

TEST_F(DrainTokenTest, AbortedBatchWithRecordsFailsTheWriterAndWithoutRestoresTheToken) {
  RotateAndAppend(1);
  ASSERT_TRUE(emitter_->Commit().ok());
  const std::string t1 = emitter_->token();
  emitter_->BeginBatch("never-committed");
  emitter_->AbortBatch();
  EXPECT_EQ(emitter_->token(), t1);
  EXPECT_FALSE(emitter_->failed());
  emitter_->BeginBatch("rolled-back");
  outbox::Record r;
  r.type = outbox::RecordType::kDelete;
  r.key = {outbox::Value::Integer(1)};
  ASSERT_TRUE(emitter_->AppendData(table_, &r).ok());
  emitter_->AbortBatch();
  EXPECT_TRUE(emitter_->failed());  // its records must never become durable
  EXPECT_FALSE(emitter_->Commit().ok());
  EXPECT_EQ(OutboxToken(), t1);
}

}  // namespace
}  // namespace owsync::capture
