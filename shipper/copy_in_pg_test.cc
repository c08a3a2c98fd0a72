// COPY FROM STDIN on PgConnection against a real PostgreSQL (and a pgbouncer it can freeze).
#include <gtest/gtest.h>

#include <string>

#include "shipper/pg_connection.h"
#include "shipper/pg_error.h"
#include "tests/pg_test_env.h"

namespace owsync::shipper {
namespace {

using tests::PgTestEnv;

class CopyInTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = PgTestEnv::Get();
    ASSERT_NE(env_, nullptr);
    clock_ = env_->clock();
    auto db = env_->CreateDatabase("copy_in");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
  }
  Deadline In(int64_t micros) { return Deadline::After(clock_, micros); }
  PgConnection Connect(const std::string& url, int64_t cancel_grace_micros = 2'000'000) {
    PgConnectOptions options;
    options.cancel_grace_micros = cancel_grace_micros;
    auto conn = PgConnection::Connect(clock_, url, In(10'000'000), options);
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    return std::move(conn).value();
  }
  std::string Query(PgConnection& conn, const std::string& sql) {
    auto res = conn.Exec(sql, In(10'000'000));
    EXPECT_TRUE(res.ok()) << sql << ": " << res.status().ToString();
    if (!res.ok() || res->rows() == 0) return "<none>";
    return std::string(res->GetValue(0, 0));
  }

  PgTestEnv* env_ = nullptr;
  Clock* clock_ = nullptr;
  tests::TestDatabase db_;
};

TEST_F(CopyInTest, CopiesHundredThousandRows) {
  PgConnection conn = Connect(db_.admin_url);
  Query(conn, "CREATE TABLE t (k bigint PRIMARY KEY, v text)");
  ASSERT_TRUE(conn.StartCopyIn("COPY t (k, v) FROM STDIN", In(5'000'000)).ok());
  EXPECT_TRUE(conn.in_copy());
  std::string chunk;
  for (int i = 0; i < 100'000; ++i) {
    chunk += std::to_string(i) + "\trow\\t" + std::to_string(i) + "\n";
    if (chunk.size() > 60'000 || i == 99'999) {
      ASSERT_TRUE(conn.PutCopyData(chunk, In(10'000'000)).ok());
      chunk.clear();
    }
  }
  auto done = conn.EndCopyIn(In(30'000'000));
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->affected_rows(), 100'000);
  EXPECT_FALSE(conn.in_copy());
  EXPECT_EQ(Query(conn, "SELECT count(*) FROM t"), "100000");
  EXPECT_EQ(Query(conn, "SELECT sum(k) FROM t"), "4999950000");
  EXPECT_EQ(Query(conn, "SELECT v FROM t WHERE k = 77"), "row\t77");
}

TEST_F(CopyInTest, BadValueIsDataErrorWithSqlStateAndRollbackRecovers) {
  PgConnection conn = Connect(db_.admin_url);
  Query(conn, "CREATE TABLE t (k bigint PRIMARY KEY, v text)");
  Query(conn, "BEGIN");
  ASSERT_TRUE(conn.StartCopyIn("COPY t FROM STDIN", In(5'000'000)).ok());
  ASSERT_TRUE(conn.PutCopyData("1\ta\nnot-a-number\tb\n3\tc\n", In(5'000'000)).ok());
  auto done = conn.EndCopyIn(In(5'000'000));
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(SqlStateOf(done.status()), "22P02") << done.status().ToString();
  EXPECT_EQ(done.status().code(), StatusCode::kDataError);
  EXPECT_FALSE(conn.is_broken());
  auto in_failed_tx = conn.Exec("SELECT 1", In(5'000'000));
  EXPECT_EQ(SqlStateOf(in_failed_tx.status()), "25P02");
  Query(conn, "ROLLBACK");
  EXPECT_EQ(Query(conn, "SELECT count(*) FROM t"), "0");
  // The same connection copies again.
  ASSERT_TRUE(conn.StartCopyIn("COPY t FROM STDIN", In(5'000'000)).ok());
  ASSERT_TRUE(conn.PutCopyData("5\te\n", In(5'000'000)).ok());
  auto again = conn.EndCopyIn(In(5'000'000));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->affected_rows(), 1);
}

TEST_F(CopyInTest, SixtyFourMiBFieldIsCopiedExactly) {
  PgConnection conn = Connect(db_.admin_url);
  Query(conn, "CREATE TABLE t (k bigint PRIMARY KEY, v text)");
  constexpr size_t kRepeats = size_t{64} << 16;  // 16-byte pattern: 64 MiB
  std::string row = "1\t";
  row.reserve(2 + kRepeats * 16 + 1);
  for (size_t i = 0; i < kRepeats; ++i) row += "0123456789abcdef";
  row += "\n";
  ASSERT_TRUE(conn.StartCopyIn("COPY t FROM STDIN", In(5'000'000)).ok());
  Status put = conn.PutCopyData(row, In(60'000'000));
  ASSERT_TRUE(put.ok()) << put.ToString();
  auto done = conn.EndCopyIn(In(60'000'000));
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->affected_rows(), 1);
  EXPECT_EQ(Query(conn, "SELECT length(v) FROM t"), std::to_string(kRepeats * 16));
  EXPECT_EQ(
      Query(conn, "SELECT v = repeat('0123456789abcdef', " + std::to_string(kRepeats) + ") FROM t"),
      "t");
}

TEST_F(CopyInTest, AbortEndsTheCopyAndItsTransaction) {
  PgConnection conn = Connect(db_.admin_url);
  Query(conn, "CREATE TABLE t (k bigint PRIMARY KEY, v text)");
  Query(conn, "BEGIN; INSERT INTO t VALUES (100, 'before')");
  ASSERT_TRUE(conn.StartCopyIn("COPY t FROM STDIN", In(5'000'000)).ok());
  ASSERT_TRUE(conn.PutCopyData("1\ta\n2\tb\n", In(5'000'000)).ok());
  Status aborted = conn.AbortCopyIn("value does not fit", In(5'000'000));
  EXPECT_TRUE(aborted.ok()) << aborted.ToString();
  EXPECT_FALSE(conn.in_copy());
  EXPECT_FALSE(conn.is_broken());
  EXPECT_EQ(SqlStateOf(conn.Exec("SELECT 1", In(5'000'000)).status()), "25P02");
  Query(conn, "ROLLBACK");
  EXPECT_EQ(Query(conn, "SELECT count(*) FROM t"), "0");
  // Outside a transaction block the aborted COPY leaves nothing either.
  ASSERT_TRUE(conn.StartCopyIn("COPY t FROM STDIN", In(5'000'000)).ok());
  ASSERT_TRUE(conn.PutCopyData("1\ta\n", In(5'000'000)).ok());
  EXPECT_TRUE(conn.AbortCopyIn("stop", In(5'000'000)).ok());
  EXPECT_EQ(Query(conn, "SELECT count(*) FROM t"), "0");
}

TEST_F(CopyInTest, MisuseIsRefusedWithoutBreakingTheConnection) {
  PgConnection conn = Connect(db_.admin_url);
  Query(conn, "CREATE TABLE t (k bigint PRIMARY KEY, v text)");
  EXPECT_EQ(conn.PutCopyData("1\ta\n", In(5'000'000)).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(conn.EndCopyIn(In(5'000'000)).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(conn.AbortCopyIn("x", In(5'000'000)).code(), StatusCode::kFailedPrecondition);
  Status missing = conn.StartCopyIn("COPY no_such_table FROM STDIN", In(5'000'000));
  EXPECT_EQ(SqlStateOf(missing), "42P01") << missing.ToString();
  Status not_copy = conn.StartCopyIn("SELECT 1", In(5'000'000));
  EXPECT_FALSE(not_copy.ok());
  EXPECT_FALSE(conn.in_copy());
  ASSERT_TRUE(
      conn.StartCopyIn("SET LOCAL work_mem = '8MB'; COPY t FROM STDIN", In(5'000'000)).ok());
  EXPECT_EQ(conn.Exec("SELECT 1", In(5'000'000)).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(conn.StartCopyIn("COPY t FROM STDIN", In(5'000'000)).code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(conn.PutCopyData("9\tz\n", In(5'000'000)).ok());
  auto done = conn.EndCopyIn(In(5'000'000));
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(Query(conn, "SELECT v FROM t WHERE k = 9"), "z");
  EXPECT_FALSE(conn.is_broken());
}

// The server stops reading (COPY waits for a row lock): the deadline cancels the COPY, the
// server discards the rest, and the connection stays usable.
TEST_F(CopyInTest, DeadlineWhileTheServerWaitsCancelsAndKeepsTheConnection) {
  PgConnection conn = Connect(db_.admin_url);
  PgConnection locker = Connect(db_.admin_url);
  Query(conn, "CREATE TABLE t (k bigint PRIMARY KEY, v text)");
  Query(locker, "BEGIN; INSERT INTO t VALUES (1, 'held')");
  ASSERT_TRUE(conn.StartCopyIn("COPY t FROM STDIN", In(5'000'000)).ok());
  std::string rows = "1\tconflict\n";
  const std::string filler(1000, 'x');
  for (int k = 2; rows.size() < (size_t{32} << 20); ++k) {
    rows += std::to_string(k) + "\t" + filler + "\n";
  }
  // 32 MiB is far more than the socket buffers hold: PutCopyData itself hits the deadline.
  const int64_t start = clock_->MonotonicMicros();
  Status put = conn.PutCopyData(rows, In(500'000));
  const int64_t elapsed = clock_->MonotonicMicros() - start;
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(SqlStateOf(put), "57014") << put.ToString();
  EXPECT_TRUE(put.retryable());
  EXPECT_GE(elapsed, 500'000);
  EXPECT_LT(elapsed, 500'000 + 2'000'000);
  EXPECT_FALSE(conn.is_broken()) << put.ToString();
  EXPECT_FALSE(conn.in_copy());
  Query(locker, "ROLLBACK");
  EXPECT_EQ(Query(conn, "SELECT count(*) FROM t"), "0");
}

TEST_F(CopyInTest, DeadlineWhileEndCopyInWaitsCancelsAndKeepsTheConnection) {
  PgConnection conn = Connect(db_.admin_url);
  PgConnection locker = Connect(db_.admin_url);
  Query(conn, "CREATE TABLE t (k bigint PRIMARY KEY, v text)");
  Query(locker, "BEGIN; INSERT INTO t VALUES (1, 'held')");
  ASSERT_TRUE(conn.StartCopyIn("COPY t FROM STDIN", In(5'000'000)).ok());
  ASSERT_TRUE(conn.PutCopyData("2\tfree\\nline\n1\tconflict\n", In(5'000'000)).ok());
  const int64_t start = clock_->MonotonicMicros();
  auto end = conn.EndCopyIn(In(400'000));
  const int64_t elapsed = clock_->MonotonicMicros() - start;
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(SqlStateOf(end.status()), "57014") << end.status().ToString();
  EXPECT_GE(elapsed, 400'000);
  EXPECT_LT(elapsed, 400'000 + 2'000'000);
  EXPECT_FALSE(conn.is_broken());
  Query(locker, "COMMIT");
  EXPECT_EQ(Query(conn, "SELECT string_agg(v, ',' ORDER BY k) FROM t"), "held");
}

TEST_F(CopyInTest, DeadlineMidCopyThroughFrozenPoolerReturnsInTime) {
  auto bouncer = env_->StartPgBouncer();
  ASSERT_TRUE(bouncer.ok()) << bouncer.status().ToString();
  constexpr int64_t kGrace = 500'000;
  PgConnection conn = Connect((*bouncer)->UrlFor("owsync_admin", std::nullopt, db_.name), kGrace);
  Query(conn, "CREATE TABLE t (k bigint PRIMARY KEY, v text)");
  Query(conn, "BEGIN");
  ASSERT_TRUE(conn.StartCopyIn("COPY t FROM STDIN", In(5'000'000)).ok());
  ASSERT_TRUE(conn.PutCopyData("1\tbefore the freeze\n", In(5'000'000)).ok());
  ASSERT_TRUE((*bouncer)->Pause().ok());
  std::string rows;
  const std::string filler(1000, 'y');
  for (int k = 2; rows.size() < (size_t{64} << 20); ++k) {
    rows += std::to_string(k) + "\t" + filler + "\n";
  }
  constexpr int64_t kDeadline = 700'000;
  const int64_t start = clock_->MonotonicMicros();
  Status put = conn.PutCopyData(rows, In(kDeadline));
  const int64_t elapsed = clock_->MonotonicMicros() - start;
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.code(), StatusCode::kUnavailable) << put.ToString();
  EXPECT_TRUE(put.retryable());
  EXPECT_GE(elapsed, kDeadline);
  EXPECT_LT(elapsed, kDeadline + kGrace + 500'000) << put.ToString();
  EXPECT_NE(put.message().find("connection closed"), std::string::npos) << put.ToString();
  EXPECT_TRUE(conn.is_broken());
  EXPECT_FALSE(conn.in_copy());
  ASSERT_TRUE((*bouncer)->Resume().ok());
  // Nothing of the cut-off COPY was committed.
  PgConnection direct = Connect(db_.admin_url);
  EXPECT_EQ(Query(direct, "SELECT count(*) FROM t"), "0");
  EXPECT_TRUE((*bouncer)->Stop().ok());
}

}  // namespace
}  // namespace owsync::shipper
