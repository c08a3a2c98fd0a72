#include "cli/workload_generator.h"

#include <gtest/gtest.h>

#include <limits>

#include "cli/sqlite_handle.h"
#include "util/fake_clock.h"
#include "util/file_system.h"
#include "util/scoped_temp_dir.h"

namespace owsync::cli {
namespace {

using outbox::Value;

// Every row of every table, in a canonical order, exactly.
std::vector<std::vector<Value>> AllRows(const std::string& path) {
  auto db = OpenSqlite(path, false, 5000);
  EXPECT_TRUE(db.ok());
  std::vector<std::vector<Value>> rows;
  auto names =
      PrepareSqlite(db->get(), "SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name");
  EXPECT_TRUE(names.ok());
  std::vector<std::string> tables;
  while (sqlite3_step(names->get()) == SQLITE_ROW) {
    tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(names->get(), 0)));
  }
  for (const std::string& t : tables) {
    auto stmt = PrepareSqlite(db->get(), "SELECT * FROM " + QuoteIdentifier(t) + " ORDER BY 1");
    EXPECT_TRUE(stmt.ok()) << t;
    rows.push_back({Value::Text("table " + t)});
    while (sqlite3_step(stmt->get()) == SQLITE_ROW) {
      std::vector<Value> row;
      for (int i = 0; i < sqlite3_column_count(stmt->get()); ++i) {
        row.push_back(ColumnValue(stmt->get(), i));
      }
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

class WorkloadGeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("workload-test-");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    dir_ = std::make_unique<ScopedTempDir>(std::move(dir).value());
  }

  // Creates `name` from `schema` and runs `transactions` with `seed`; returns the generator.
  std::unique_ptr<WorkloadGenerator> RunFresh(const std::string& name, const std::string& schema,
                                              uint64_t seed, int64_t transactions) {
    std::string path = dir_->Child(name);
    Status s = WorkloadGenerator::InitDatabase(path, schema, "wal");
    EXPECT_TRUE(s.ok()) << s.ToString();
    WorkloadOptions options;
    options.db_path = path;
    options.seed = seed;
    options.max_transactions = transactions;
    options.synchronous = "off";
    options.victims_path = path + ".victims";
    auto gen = WorkloadGenerator::Open(fs_.get(), &clock_, options);
    EXPECT_TRUE(gen.ok()) << gen.status().ToString();
    Status run = (*gen)->Run(nullptr);
    EXPECT_TRUE(run.ok()) << run.ToString();
    return std::move(gen).value();
  }

  std::unique_ptr<FileSystem> fs_ = NewPosixFileSystem();
  FakeClock clock_;
  std::unique_ptr<ScopedTempDir> dir_;
};

TEST_F(WorkloadGeneratorTest, SameSeedWritesTheSameDatabase) {
  auto a = RunFresh("a.db", "v0.11.0", 42, 300);
  auto b = RunFresh("b.db", "v0.11.0", 42, 300);
  EXPECT_EQ(a->counts().ToString(), b->counts().ToString());
  EXPECT_TRUE(AllRows(dir_->Child("a.db")) == AllRows(dir_->Child("b.db")));
  auto c = RunFresh("c.db", "v0.11.0", 43, 300);
  EXPECT_FALSE(AllRows(dir_->Child("a.db")) == AllRows(dir_->Child("c.db")));
}

TEST_F(WorkloadGeneratorTest, DoesEveryKindOfOperation) {
  for (const char* schema : {"v0.6.31", "v0.11.0"}) {
    auto gen = RunFresh(std::string(schema) + ".db", schema, 7, 600);
    const WorkloadCounts& c = gen->counts();
    SCOPED_TRACE(c.ToString());
    EXPECT_EQ(c.transactions + c.constraint_rollbacks, 600);
    EXPECT_GT(c.statements, c.transactions);  // some multi-statement transactions
    EXPECT_GT(c.inserts, 0);
    EXPECT_GT(c.updates, 0);
    EXPECT_GT(c.upserts, 0);
    EXPECT_GT(c.key_changes, 0);
    EXPECT_GT(c.replaces, 0);
    EXPECT_GT(c.replace_collisions, 0);
    EXPECT_GT(c.replace_victims, 0);
    EXPECT_GT(c.deletes, 0);
    EXPECT_GT(c.odd_values, 0);
    EXPECT_LE(c.constraint_rollbacks, 6);
  }
}

TEST_F(WorkloadGeneratorTest, ReportedVictimsAreGoneAndTheFileSaysTheSame) {
  auto gen = RunFresh("v.db", "v0.6.31", 9, 800);
  ASSERT_FALSE(gen->victims().empty());
  auto text = ReadFileToString(fs_.get(), dir_->Child("v.db.victims"));
  ASSERT_TRUE(text.ok());
  auto parsed = WorkloadGenerator::ParseVictims(*text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), gen->victims().size());
  auto db = OpenSqlite(dir_->Child("v.db"), false, 5000);
  ASSERT_TRUE(db.ok());
  for (size_t i = 0; i < parsed->size(); ++i) {
    const WorkloadVictim& v = (*parsed)[i];
    EXPECT_EQ(v.table, gen->victims()[i].table);
    EXPECT_TRUE(v.key == gen->victims()[i].key);
    // Legacy tables keyed by UNIQUE(id), and those with an integer or text primary key.
    std::string where = v.table == "tag" ? "id = ?1 AND user_id = ?2" : "id = ?1";
    auto stmt = PrepareSqlite(
        db->get(), "SELECT count(*) FROM " + QuoteIdentifier(v.table) + " WHERE " + where);
    ASSERT_TRUE(stmt.ok()) << v.table;
    for (size_t k = 0; k < v.key.size(); ++k) {
      ASSERT_TRUE(BindValue(stmt->get(), static_cast<int>(k + 1), v.key[k]).ok());
    }
    ASSERT_EQ(sqlite3_step(stmt->get()), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int64(stmt->get(), 0), 0) << v.table;
  }
}

TEST_F(WorkloadGeneratorTest, StoresOddValues) {
  RunFresh("odd.db", "v0.11.0", 11, 1500);
  auto db = OpenSqlite(dir_->Child("odd.db"), false, 5000);
  ASSERT_TRUE(db.ok());
  auto count = [&](const std::string& where) {
    int64_t total = 0;
    for (const char* t : {"chat", "message", "chat_message"}) {
      auto n = QueryInt(db->get(), "SELECT count(*) FROM " + std::string(t) + " WHERE " + where);
      EXPECT_TRUE(n.ok()) << n.status().ToString();
      total += n.value_or(0);
    }
    return total;
  };
  EXPECT_GT(
      count("instr(CAST(user_id AS BLOB), x'00') > 0 OR instr(CAST(meta AS BLOB), x'00') > 0"), 0);
  EXPECT_GT(count("typeof(meta) = 'blob' OR typeof(user_id) = 'blob'"), 0);
  EXPECT_GT(count("created_at = 9223372036854775807 OR updated_at = -9223372036854775808 OR "
                  "created_at = -9223372036854775808 OR updated_at = 9223372036854775807"),
            0);
  EXPECT_GT(count("typeof(created_at) = 'real' OR typeof(updated_at) = 'real'"), 0);
}

TEST_F(WorkloadGeneratorTest, KeepsWritingThroughTheUpgradeRebuilds) {
  auto gen = RunFresh("m.db", "v0.6.31", 3, 200);
  auto sql = WorkloadGenerator::FixtureSql("upgrade-rebuilds");
  ASSERT_TRUE(sql.ok());
  {
    auto db = OpenSqlite(dir_->Child("m.db"), false, 5000);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(ExecSqlite(db->get(), *sql).ok());
  }
  int64_t reloads = gen->counts().schema_reloads;
  for (int i = 0; i < 400; ++i) {
    Status s = gen->RunTransaction();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_GT(gen->counts().schema_reloads, reloads);
  auto db = OpenSqlite(dir_->Child("m.db"), false, 5000);
  ASSERT_TRUE(db.ok());
  // New columns and new tables get written.
  EXPECT_GT(*QueryInt(db->get(), "SELECT count(*) FROM message WHERE reply_to_id IS NOT NULL"), 0);
  EXPECT_GT(*QueryInt(db->get(), "SELECT count(*) FROM config WHERE \"key\" IS NOT NULL"), 0);
}

TEST_F(WorkloadGeneratorTest, PacesToTheRateAndStopsAtTheTimeLimit) {
  std::string path = dir_->Child("p.db");
  ASSERT_TRUE(WorkloadGenerator::InitDatabase(path, "v0.11.0", "").ok());
  WorkloadOptions options;
  options.db_path = path;
  options.synchronous = "off";
  options.rate = 100;
  options.max_seconds = 2;
  auto gen = WorkloadGenerator::Open(fs_.get(), &clock_, options);
  ASSERT_TRUE(gen.ok());
  int64_t start = clock_.MonotonicMicros();
  ASSERT_TRUE((*gen)->Run(nullptr).ok());
  int64_t n = (*gen)->counts().transactions + (*gen)->counts().constraint_rollbacks;
  EXPECT_GE(n, 195);
  EXPECT_LE(n, 201);
  EXPECT_GE(clock_.MonotonicMicros() - start, 1'900'000);
}

TEST_F(WorkloadGeneratorTest, StopsWhenAskedTo) {
  std::string path = dir_->Child("s.db");
  ASSERT_TRUE(WorkloadGenerator::InitDatabase(path, "v0.11.0", "").ok());
  WorkloadOptions options;
  options.db_path = path;
  auto gen = WorkloadGenerator::Open(fs_.get(), &clock_, options);
  ASSERT_TRUE(gen.ok());
  std::atomic<bool> stop{true};
  ASSERT_TRUE((*gen)->Run(&stop).ok());
  EXPECT_EQ((*gen)->counts().transactions, 0);
}

TEST_F(WorkloadGeneratorTest, InitRefusesADatabaseThatHasTables) {
  std::string path = dir_->Child("i.db");
  ASSERT_TRUE(WorkloadGenerator::InitDatabase(path, "v0.6.31", "delete").ok());
  Status again = WorkloadGenerator::InitDatabase(path, "v0.6.31", "delete");
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(WorkloadGenerator::InitDatabase(path, "v9", "").code(), StatusCode::kInvalidArgument);
}

TEST_F(WorkloadGeneratorTest, VictimLinesRoundTripExactly) {
  WorkloadVictim v{
      "odd \"table\"",
      {Value::Text(std::string("a\0b\xff", 4)), Value::Blob(std::string("\0", 1)),
       Value::Integer(std::numeric_limits<int64_t>::min()), Value::Real(-0.0), Value::Null()}};
  std::string text = WorkloadGenerator::FormatVictim(v) + "\n" +
                     WorkloadGenerator::FormatVictim(v) + "\n" + "torn-lin";
  auto parsed = WorkloadGenerator::ParseVictims(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[1].table, v.table);
  EXPECT_TRUE((*parsed)[1].key == v.key);
  EXPECT_FALSE(WorkloadGenerator::ParseVictims("zz\tq:1\n").ok());
}

}  // namespace
}  // namespace owsync::cli
