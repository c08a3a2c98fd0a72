#include "tests/table_comparator.h"

#include <gtest/gtest.h>

#include "cli/sqlite_handle.h"
#include "cli/workload_key_cache.h"
#include "tests/outbox_applier.h"
#include "util/scoped_temp_dir.h"

namespace owsync::testing {
namespace {

using outbox::Column;
using outbox::Record;
using outbox::RecordType;
using outbox::Value;

class TableComparatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("comparator-test-");
    ASSERT_TRUE(dir.ok());
    dir_ = std::make_unique<ScopedTempDir>(std::move(dir).value());
    auto applier = OutboxApplier::Open(dir_->Child("copy.db"));
    ASSERT_TRUE(applier.ok());
    applier_ = std::move(applier).value();
    auto source = cli::OpenSqlite(dir_->Child("source.db"), true, 5000);
    ASSERT_TRUE(source.ok());
    source_ = std::move(source).value();
    ASSERT_TRUE(cli::ExecSqlite(source_.get(),
                                "CREATE TABLE t (id TEXT PRIMARY KEY, v, w);"
                                "CREATE TABLE plain (x);"
                                "CREATE TABLE _owsync_changes (seq INTEGER PRIMARY KEY)")
                    .ok());
    Record schema;
    schema.type = RecordType::kSchema;
    schema.table = "t";
    schema.columns = {{"id", "TEXT", 1, true}, {"v", "", 0, false}, {"w", "", 0, false}};
    Apply(schema);
    schema.table = "plain";
    schema.columns = {{"x", "", 1, true}};
    Apply(schema);
  }
  void Apply(Record r) {
    r.offset = next_++;
    Status s = applier_->Apply(r);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Both(const std::string& id, Value v, Value w) { Copy(id, v, w), SourceRow(id, v, w); }
  void Copy(const std::string& id, Value v, Value w) {
    Record r;
    r.type = RecordType::kUpsert;
    r.table = "t";
    r.key = {Value::Text(id)};
    r.row = {Value::Text(id), std::move(v), std::move(w)};
    Apply(r);
  }
  void SourceRow(const std::string& id, const Value& v, const Value& w) {
    auto stmt = cli::PrepareSqlite(source_.get(), "INSERT INTO t VALUES (?, ?, ?)");
    ASSERT_TRUE(stmt.ok());
    ASSERT_TRUE(cli::BindValue(stmt->get(), 1, Value::Text(id)).ok());
    ASSERT_TRUE(cli::BindValue(stmt->get(), 2, v).ok());
    ASSERT_TRUE(cli::BindValue(stmt->get(), 3, w).ok());
    ASSERT_EQ(sqlite3_step(stmt->get()), SQLITE_DONE);
  }
  Comparison Compare(const ComparatorOptions& options = {}) {
    auto c = TableComparator::Compare(source_.get(), applier_->db(), applier_->tables(), options);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.value_or(Comparison{});
  }

  std::unique_ptr<ScopedTempDir> dir_;
  std::unique_ptr<OutboxApplier> applier_;
  cli::SqliteDb source_;
  uint64_t next_ = 1;
};

TEST_F(TableComparatorTest, EqualRowsCompareEqualWhateverTheirTypes) {
  Both("a", Value::Real(-0.0), Value::Text(std::string("x\0y", 3)));
  Both("b", Value::Real(1.5), Value::Blob("\xff"));
  Both("c", Value::Null(), Value::Integer(-9));
  Comparison c = Compare();
  EXPECT_TRUE(c.equal()) << c.Summary();
  EXPECT_EQ(c.rows_compared, 3);
  EXPECT_EQ(c.tables, 2);  // owsync's own table is not compared
}

TEST_F(TableComparatorTest, ReportsTypeBitAndByteDifferencesReadably) {
  SourceRow("a", Value::Real(0.0), Value::Text("same"));
  Copy("a", Value::Real(-0.0), Value::Text("same"));
  SourceRow("b", Value::Real(1.5), Value::Text("text"));
  Copy("b", Value::Real(1.5), Value::Blob("text"));
  SourceRow("c", Value::Real(2), Value::Text(std::string("a\0b", 3)));
  Copy("c", Value::Real(2), Value::Text(std::string("a\0c", 3)));
  Comparison c = Compare();
  EXPECT_EQ(c.difference_count, 3) << c.Summary();
  std::string all = c.Summary();
  EXPECT_NE(all.find("bits 8000000000000000"), std::string::npos) << all;
  EXPECT_NE(all.find("blob(4)"), std::string::npos) << all;
  EXPECT_NE(all.find("a\\x00c"), std::string::npos) << all;
}

TEST_F(TableComparatorTest, IntegerAndRealOfTheSameValueDiffer) {
  ASSERT_TRUE(cli::ExecSqlite(source_.get(), "CREATE TABLE n (id PRIMARY KEY, v)").ok());
  Record schema;
  schema.type = RecordType::kSchema;
  schema.table = "n";
  schema.columns = {{"id", "", 1, true}, {"v", "", 0, false}};
  Apply(schema);
  ASSERT_TRUE(cli::ExecSqlite(source_.get(), "INSERT INTO n VALUES (1, 1)").ok());
  Record r;
  r.type = RecordType::kUpsert;
  r.table = "n";
  r.key = {Value::Integer(1)};
  r.row = {Value::Integer(1), Value::Real(1.0)};
  Apply(r);
  Comparison c = Compare();
  EXPECT_EQ(c.difference_count, 1) << c.Summary();
}

TEST_F(TableComparatorTest, ReportsMissingAndExtraRowsAndToleratesListedOnes) {
  Both("a", Value::Null(), Value::Null());
  SourceRow("b", Value::Null(), Value::Null());  // missing in the copy
  Copy("c", Value::Null(), Value::Null());       // extra in the copy
  Copy("d", Value::Null(), Value::Null());       // extra, tolerated
  ComparatorOptions options;
  options.tolerated_extra_rows.emplace("t", cli::WorkloadKeyCache::Encode({Value::Text("d")}));
  Comparison c = Compare(options);
  EXPECT_EQ(c.difference_count, 2) << c.Summary();
  EXPECT_EQ(c.tolerated_extra, 1);
  EXPECT_NE(c.Summary().find("'b'): in the source, missing in the copy"), std::string::npos)
      << c.Summary();
  EXPECT_NE(c.Summary().find("'c'): in the copy, not in the source"), std::string::npos)
      << c.Summary();
}

TEST_F(TableComparatorTest, ReportsTablesAndColumnsTheOutboxNeverDescribed) {
  ASSERT_TRUE(cli::ExecSqlite(source_.get(),
                              "CREATE TABLE newer (id PRIMARY KEY);"
                              "ALTER TABLE t ADD COLUMN z")
                  .ok());
  Comparison c = Compare();
  EXPECT_EQ(c.difference_count, 2) << c.Summary();
  EXPECT_NE(c.Summary().find("newer: in the source (0 rows), never described"), std::string::npos);
  EXPECT_NE(c.Summary().find("t: columns differ"), std::string::npos);
}

}  // namespace
}  // namespace owsync::testing
