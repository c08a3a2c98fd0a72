#include "capture/changelog.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>

#include "capture/capture_testing.h"
#include "capture/sqlite_txn.h"
#include "util/scoped_temp_dir.h"

namespace owsync::capture {
namespace {

class ChangelogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("capture-changelog-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<ScopedTempDir>(std::move(dir).value());
    auto db = testing::CreateDb(dir_->Child("c.db"), "");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    changelog_ = std::make_unique<Changelog>(&db_);
    ASSERT_TRUE(changelog_->Create().ok());
  }

  void Log(const std::string& table, const std::string& key_sql) {
    ASSERT_TRUE(db_.Exec("INSERT INTO _owsync_changes (tbl, op, ts, k1) VALUES ('" + table +
                         "', 1, 1700000000, " + key_sql + ")")
                    .ok());
  }

  std::unique_ptr<ScopedTempDir> dir_;
  SqliteDb db_;
  std::unique_ptr<Changelog> changelog_;
};

TEST_F(ChangelogTest, SeqIsNeverReusedAfterTheChangelogWasDrainedEmpty) {
  Log("t", "1");
  Log("t", "2");
  auto batch = changelog_->ReadBatch(10);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 2u);
  EXPECT_EQ(batch->back().seq, 2);
  ASSERT_TRUE(changelog_->DeleteBelow(3).ok());
  ASSERT_EQ(changelog_->Stats()->rows, 0);
  // Reopen the database: the counter must survive in the file, not in memory.
  db_ = SqliteDb();
  auto db = SqliteDb::Open(dir_->Child("c.db"), {});
  ASSERT_TRUE(db.ok());
  db_ = std::move(db).value();
  changelog_ = std::make_unique<Changelog>(&db_);
  Log("t", "3");
  batch = changelog_->ReadBatch(10);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 1u);
  EXPECT_EQ(batch->front().seq, 3);
  EXPECT_EQ(*changelog_->Counter(), 3);
}

TEST_F(ChangelogTest, KeysKeepTheirExactTypeAndBytes) {
  Log("t", "9223372036854775807");
  Log("t", "-0.0");
  Log("t", "X'00FF00'");
  Log("t", "'te' || char(0) || 'xt'");
  Log("t", "NULL");
  Log("t", "CAST(X'C328' AS TEXT)");  // invalid UTF-8
  auto batch = changelog_->ReadBatch(10);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 6u);
  EXPECT_EQ((*batch)[0].key[0], outbox::Value::Integer(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ((*batch)[0].key.size(), 4u);  // k1..k4
  EXPECT_EQ((*batch)[1].key[0].type, outbox::ValueType::kReal);
  EXPECT_EQ((*batch)[2].key[0], outbox::Value::Blob(std::string("\0\xff\0", 3)));
  EXPECT_EQ((*batch)[3].key[0], outbox::Value::Text(std::string("te\0xt", 5)));
  EXPECT_TRUE((*batch)[4].key[0].is_null());
  EXPECT_EQ((*batch)[5].key[0], outbox::Value::Text("\xc3\x28"));
  EXPECT_EQ((*batch)[0].ts, 1700000000);
  EXPECT_EQ((*batch)[0].op, ChangeOp::kInsert);
}

TEST_F(ChangelogTest, BatchesAreBoundedAndInSeqOrder) {
  for (int i = 0; i < 25; ++i) Log("t", std::to_string(100 - i));
  auto batch = changelog_->ReadBatch(10);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 10u);
  for (size_t i = 1; i < batch->size(); ++i) EXPECT_LT((*batch)[i - 1].seq, (*batch)[i].seq);
  ASSERT_EQ(*changelog_->DeleteBelow((*batch)[5].seq), 5);
  auto stats = changelog_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->rows, 20);
  EXPECT_EQ(stats->min_seq, 6);
  EXPECT_EQ(stats->max_seq, 25);
  EXPECT_EQ(stats->oldest_ts, 1700000000);
}

TEST_F(ChangelogTest, KeyColumnsGrowForWideKeys) {
  EXPECT_EQ(*changelog_->KeyColumnCount(), 4);
  ASSERT_TRUE(changelog_->EnsureKeyColumns(6).ok());
  EXPECT_EQ(*changelog_->KeyColumnCount(), 6);
  ASSERT_TRUE(changelog_->EnsureKeyColumns(2).ok());
  EXPECT_EQ(*changelog_->KeyColumnCount(), 6);
  ASSERT_TRUE(
      db_.Exec("INSERT INTO _owsync_changes (tbl, op, ts, k1, k6) VALUES ('w', 2, 0, 1, 6)").ok());
  auto batch = changelog_->ReadBatch(10);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->front().key.size(), 6u);
  EXPECT_EQ(batch->front().key[5], outbox::Value::Integer(6));
}

}  // namespace
}  // namespace owsync::capture
