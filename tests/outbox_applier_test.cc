#include "tests/outbox_applier.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cli/sqlite_handle.h"
#include "outbox/outbox_writer.h"
#include "tests/table_comparator.h"
#include "util/fake_clock.h"
#include "util/scoped_temp_dir.h"

namespace owsync::testing {
namespace {

using outbox::Column;
using outbox::Record;
using outbox::RecordType;
using outbox::Value;

Record Schema(const std::string& table, std::vector<Column> columns) {
  Record r;
  r.type = RecordType::kSchema;
  r.table = table;
  r.columns = std::move(columns);
  return r;
}
Record Upsert(const std::string& table, std::vector<Value> row, size_t key_columns = 1) {
  Record r;
  r.type = RecordType::kUpsert;
  r.table = table;
  r.key.assign(row.begin(), row.begin() + static_cast<long>(key_columns));
  r.row = std::move(row);
  return r;
}
Record Delete(const std::string& table, std::vector<Value> key) {
  Record r;
  r.type = RecordType::kDelete;
  r.table = table;
  r.key = std::move(key);
  return r;
}
Record Snapshot(RecordType type, const std::string& table, uint64_t begin = 0) {
  Record r;
  r.type = type;
  r.table = table;
  r.snapshot_begin_offset = begin;
  return r;
}

const std::vector<Column> kColumns = {{"id", "TEXT", 1, true}, {"v", "", 0, false}};

class OutboxApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("applier-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<ScopedTempDir>(std::move(dir).value());
    auto applier = OutboxApplier::Open(dir_->Child("copy.db"));
    ASSERT_TRUE(applier.ok()) << applier.status().ToString();
    applier_ = std::move(applier).value();
    auto source = cli::OpenSqlite(dir_->Child("source.db"), true, 5000);
    ASSERT_TRUE(source.ok());
    source_ = std::move(source).value();
  }
  // Applies `records` with offsets from next_.
  Status ApplyAll(std::vector<Record> records) {
    for (Record& r : records) {
      r.offset = next_++;
      OWSYNC_RETURN_IF_ERROR(applier_->Apply(r));
    }
    return Status::OK();
  }
  void Source(const std::string& sql) {
    ASSERT_TRUE(cli::ExecSqlite(source_.get(), sql).ok()) << sql;
  }
  Comparison Compare() {
    auto c = TableComparator::Compare(source_.get(), applier_->db(), applier_->tables(), {});
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.value_or(Comparison{});
  }
  int64_t CopyCount(const std::string& table) {
    return cli::QueryInt(applier_->db(), "SELECT count(*) FROM " + table).value_or(-1);
  }

  std::unique_ptr<ScopedTempDir> dir_;
  std::unique_ptr<OutboxApplier> applier_;
  cli::SqliteDb source_;
  uint64_t next_ = 1;
};

TEST_F(OutboxApplierTest, AppliesAnOutboxWrittenByTheRealWriterExactly) {
  std::unique_ptr<FileSystem> fs = NewPosixFileSystem();
  FakeClock clock;
  auto writer = outbox::OutboxWriter::Open(fs.get(), &clock, dir_->Child("outbox"), {});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<Record> records = {
      Schema("t", kColumns),
      Upsert("t", {Value::Text("a"), Value::Real(-0.0)}),
      Upsert("t", {Value::Text("b"), Value::Text(std::string("nul\0x\xff", 6))}),
      Upsert("t", {Value::Text("c"), Value::Blob(std::string("\0\1", 2))}),
      Upsert("t", {Value::Text("d"), Value::Integer(std::numeric_limits<int64_t>::min())}),
      Upsert("t", {Value::Text("e"), Value::Real(-inf)}),
      Upsert("t", {Value::Text("f"), Value::Null()}),
      Delete("t", {Value::Text("c")}),
      Upsert("t", {Value::Text("a"), Value::Integer(7)}),
  };
  for (Record& r : records) ASSERT_TRUE((*writer)->Append(&r).ok());
  ASSERT_TRUE((*writer)->Commit().ok());

  Source("CREATE TABLE t (id TEXT PRIMARY KEY, v)");
  auto insert = cli::PrepareSqlite(source_.get(), "INSERT INTO t VALUES (?, ?)");
  ASSERT_TRUE(insert.ok());
  for (const Record& r : records) {
    if (r.type != RecordType::kUpsert || r.row[0].bytes == "c" ||
        (r.row[0].bytes == "a" && r.row[1].type == outbox::ValueType::kReal)) {
      continue;
    }
    ASSERT_TRUE(cli::BindValue(insert->get(), 1, r.row[0]).ok());
    ASSERT_TRUE(cli::BindValue(insert->get(), 2, r.row[1]).ok());
    ASSERT_EQ(sqlite3_step(insert->get()), SQLITE_DONE);
    sqlite3_reset(insert->get());
  }

  ASSERT_TRUE(applier_->ApplyOutbox(fs.get(), dir_->Child("outbox")).ok());
  EXPECT_EQ(applier_->stats().records, 9);
  Comparison c = Compare();
  EXPECT_TRUE(c.equal()) << c.Summary();
  EXPECT_EQ(c.rows_compared, 5);

  // The same source with one real turned to -0.0 differs.
  Source("UPDATE t SET v = -0.0 WHERE id = 'e'");
  EXPECT_FALSE(Compare().equal());
}

TEST_F(OutboxApplierTest, SnapshotEndRemovesRowsTheSnapshotDidNotCarry) {
  ASSERT_TRUE(ApplyAll({Schema("t", kColumns), Upsert("t", {Value::Text("a"), Value::Integer(1)}),
                        Upsert("t", {Value::Text("b"), Value::Integer(2)}),
                        Snapshot(RecordType::kSnapshotBegin, "t"),  // offset 4
                        Upsert("t", {Value::Text("a"), Value::Integer(3)}),
                        Upsert("t", {Value::Text("c"), Value::Integer(4)}),
                        Snapshot(RecordType::kSnapshotEnd, "t", 4)})
                  .ok());
  EXPECT_EQ(CopyCount("t"), 2);
  EXPECT_EQ(applier_->stats().snapshot_deleted, 1);
  Source("CREATE TABLE t (id TEXT PRIMARY KEY, v); INSERT INTO t VALUES ('a', 3), ('c', 4)");
  EXPECT_TRUE(Compare().equal()) << Compare().Summary();
}

TEST_F(OutboxApplierTest, SchemaChangeRebuildsTheTableKeepingCommonColumns) {
  ASSERT_TRUE(
      ApplyAll({Schema("t", kColumns), Upsert("t", {Value::Text("a"), Value::Integer(1)}),
                Schema("t", {{"id", "TEXT", 1, true}, {"w", "", 0, false}, {"v", "", 0, false}})})
          .ok());
  Source("CREATE TABLE t (id TEXT PRIMARY KEY, w, v); INSERT INTO t VALUES ('a', NULL, 1)");
  EXPECT_TRUE(Compare().equal()) << Compare().Summary();
  // An upsert of the old width no longer fits.
  Status s = ApplyAll({Upsert("t", {Value::Text("b"), Value::Integer(1)})});
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
}

TEST_F(OutboxApplierTest, RefusesInconsistentRecords) {
  EXPECT_EQ(ApplyAll({Upsert("t", {Value::Text("a"), Value::Integer(1)})}).code(),
            StatusCode::kCorruption);  // no schema yet
  ASSERT_TRUE(ApplyAll({Schema("t", kColumns)}).ok());
  Record mismatch = Upsert("t", {Value::Text("a"), Value::Integer(1)});
  mismatch.key = {Value::Text("b")};
  EXPECT_EQ(ApplyAll({mismatch}).code(), StatusCode::kCorruption);
  Record gap = Upsert("t", {Value::Text("a"), Value::Integer(1)});
  gap.offset = next_ + 5;
  EXPECT_EQ(applier_->Apply(gap).code(), StatusCode::kCorruption);
  EXPECT_EQ(ApplyAll({Schema("u", {{"x", "", 0, false}})}).code(), StatusCode::kCorruption);
}

TEST_F(OutboxApplierTest, CompositeKeysAndSecondaryUniqueValuesNeverCollide) {
  const std::vector<Column> tag = {
      {"id", "TEXT", 1, true}, {"user_id", "TEXT", 2, true}, {"share", "TEXT", 0, false}};
  // Two rows share a value that is UNIQUE in the source: the copy must keep both while the
  // outbox says so (a REPLACE victim is removed only by a snapshot).
  ASSERT_TRUE(ApplyAll({Schema("tag", tag),
                        Upsert("tag", {Value::Text("x"), Value::Text("u1"), Value::Text("s")}, 2),
                        Upsert("tag", {Value::Text("x"), Value::Text("u2"), Value::Text("s")}, 2),
                        Delete("tag", {Value::Text("x"), Value::Text("u1")})})
                  .ok());
  EXPECT_EQ(CopyCount("tag"), 1);
}

}  // namespace
}  // namespace owsync::testing
