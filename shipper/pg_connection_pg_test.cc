#include <gtest/gtest.h>

#include "shipper/pg_connection.h"
#include "shipper/pg_error.h"
#include "tests/pg_test_env.h"

namespace owsync::shipper {
namespace {

using tests::PgTestEnv;

class PgConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = PgTestEnv::Get();
    ASSERT_NE(env_, nullptr);
    clock_ = env_->clock();
  }
  Deadline In(int64_t micros) { return Deadline::After(clock_, micros); }
  PgConnection Connect(const std::string& url) {
    auto conn = PgConnection::Connect(clock_, url, In(10'000'000));
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    return std::move(conn).value();
  }

  PgTestEnv* env_ = nullptr;
  Clock* clock_ = nullptr;
};

TEST_F(PgConnectionTest, ConnectsAndRunsQueries) {
  PgConnection conn = Connect(env_->admin_url());
  auto res =
      conn.Exec("SELECT 41 + 1 AS answer, NULL::text AS nothing, 'x' AS letter", In(5'000'000));
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->rows(), 1);
  EXPECT_EQ(res->columns(), 3);
  EXPECT_EQ(res->GetValue(0, 0), "42");
  EXPECT_EQ(res->ColumnName(0), "answer");
  EXPECT_EQ(res->ColumnIndex("letter"), 2);
  EXPECT_TRUE(res->IsNull(0, 1));
  EXPECT_FALSE(res->GetOptional(0, 1).has_value());
  EXPECT_EQ(res->GetOptional(0, 2), "x");
  EXPECT_GT(conn.backend_pid(), 0);
  EXPECT_EQ(conn.ParameterStatus("server_encoding"), "UTF8");
  EXPECT_FALSE(conn.is_broken());
}

// Every connection talks UTF-8, whatever the URL or the database's settings say.
TEST_F(PgConnectionTest, ClientEncodingIsAlwaysUtf8) {
  auto db = env_->CreateDatabase("enc");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto set =
      Connect(db->admin_url)
          .Exec("ALTER DATABASE " + db->name + " SET client_encoding = 'LATIN1'", In(5'000'000));
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  const char* sep = db->admin_url.find('?') == std::string::npos ? "?" : "&";
  for (const std::string& url : {db->admin_url, db->admin_url + sep + "client_encoding=LATIN1"}) {
    PgConnection conn = Connect(url);
    EXPECT_EQ(conn.ParameterStatus("client_encoding"), "UTF8") << url;
    auto res = conn.Exec("SELECT 'ü日本'::text", In(5'000'000));
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->GetValue(0, 0), "ü日本");
  }
}

TEST_F(PgConnectionTest, MultiStatementExecReturnsTheLastResult) {
  auto db = env_->CreateDatabase("pgconn_multi");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  PgConnection conn = Connect(db->admin_url);
  auto res = conn.Exec(
      "CREATE TABLE t (k int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), "
      "(2, 'b'); SELECT count(*) FROM t",
      In(5'000'000));
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->GetValue(0, 0), "2");
  auto upd = conn.Exec("UPDATE t SET v = 'c'", In(5'000'000));
  ASSERT_TRUE(upd.ok());
  EXPECT_EQ(upd->affected_rows(), 2);
}

TEST_F(PgConnectionTest, ExecParamsBindsTextAndNull) {
  PgConnection conn = Connect(env_->admin_url());
  const std::string tricky = "it's \"quoted\" \\ and ünïcode";
  auto res = conn.ExecParams("SELECT $1::text, $2::text IS NULL, length($1)",
                             {tricky, std::nullopt}, In(5'000'000));
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->GetValue(0, 0), tricky);
  EXPECT_EQ(res->GetValue(0, 1), "t");
}

TEST_F(PgConnectionTest, ServerErrorsCarryTheirSqlState) {
  PgConnection conn = Connect(env_->admin_url());
  auto div = conn.Exec("SELECT 1 / 0", In(5'000'000));
  ASSERT_FALSE(div.ok());
  EXPECT_EQ(SqlStateOf(div.status()), "22012");
  EXPECT_EQ(div.status().code(), StatusCode::kDataError);
  auto missing = conn.Exec("SELECT * FROM no_such_table_here", In(5'000'000));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(SqlStateOf(missing.status()), "42P01");
  auto syntax = conn.ExecParams("SELEC $1", {"x"}, In(5'000'000));
  EXPECT_EQ(SqlStateOf(syntax.status()), "42601");
  // The connection stays usable after errors.
  auto ok = conn.Exec("SELECT 1", In(5'000'000));
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_FALSE(conn.is_broken());
}

TEST_F(PgConnectionTest, StatementPastItsDeadlineIsCancelledWithinSlack) {
  PgConnection conn = Connect(env_->admin_url());
  const int64_t start = clock_->MonotonicMicros();
  auto res = conn.Exec("SELECT pg_sleep(30)", In(300'000));
  const int64_t elapsed = clock_->MonotonicMicros() - start;
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(SqlStateOf(res.status()), "57014") << res.status().ToString();
  EXPECT_TRUE(res.status().retryable());
  EXPECT_GE(elapsed, 300'000);
  EXPECT_LT(elapsed, 300'000 + 1'500'000) << "cancel took too long";
  // Cancelled on the server: the connection is still good and the backend is idle.
  EXPECT_FALSE(conn.is_broken());
  auto after = conn.Exec("SELECT 7", In(5'000'000));
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->GetValue(0, 0), "7");
}

TEST_F(PgConnectionTest, CancelledStatementRollsBackItsTransaction) {
  auto db = env_->CreateDatabase("pgconn_cancel");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  PgConnection conn = Connect(db->admin_url);
  ASSERT_TRUE(conn.Exec("CREATE TABLE t (v int)", In(5'000'000)).ok());
  auto res = conn.Exec("INSERT INTO t VALUES (1); SELECT pg_sleep(30)", In(200'000));
  ASSERT_FALSE(res.ok());
  auto count = conn.Exec("SELECT count(*) FROM t", In(5'000'000));
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(count->GetValue(0, 0), "0");
}

TEST_F(PgConnectionTest, ConnectToClosedPortIsRetryableUnavailable) {
  auto port = cli::PickFreeLoopbackPort();
  ASSERT_TRUE(port.ok());
  auto conn = PgConnection::Connect(
      clock_, "postgresql://nobody@127.0.0.1:" + std::to_string(*port) + "/x", In(5'000'000));
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(conn.status().retryable());
}

TEST_F(PgConnectionTest, WrongPasswordIsPermissionDeniedAndNeverEchoed) {
  const std::string role = env_->UniqueName("pgconn_role");
  PgConnection admin = Connect(env_->admin_url());
  auto verifier = admin.ScramVerifier("right-password", role);
  ASSERT_TRUE(verifier.ok());
  EXPECT_EQ(verifier->rfind("SCRAM-SHA-256$", 0), 0u);
  EXPECT_EQ(verifier->find("right-password"), std::string::npos);
  ASSERT_TRUE(admin
                  .Exec("CREATE ROLE " + *admin.QuoteIdentifier(role) + " LOGIN PASSWORD " +
                            *admin.QuoteLiteral(*verifier),
                        In(5'000'000))
                  .ok());
  auto good = PgConnection::Connect(clock_, env_->UrlFor(role, "right-password", "postgres"),
                                    In(10'000'000));
  EXPECT_TRUE(good.ok()) << good.status().ToString();
  auto bad = PgConnection::Connect(clock_, env_->UrlFor(role, "wrong-secret-xyz", "postgres"),
                                   In(10'000'000));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kPermissionDenied) << bad.status().ToString();
  EXPECT_FALSE(bad.status().retryable());
  EXPECT_EQ(bad.status().message().find("wrong-secret-xyz"), std::string::npos);
  auto dropped = admin.Exec("DROP ROLE " + *admin.QuoteIdentifier(role), In(5'000'000));
  EXPECT_TRUE(dropped.ok()) << dropped.status().ToString();
}

TEST_F(PgConnectionTest, TerminatedBackendIsRetryableAndBreaksTheConnection) {
  PgConnection victim = Connect(env_->admin_url());
  PgConnection admin = Connect(env_->admin_url());
  auto killed = admin.ExecParams("SELECT pg_terminate_backend($1::int, 5000)",
                                 {std::to_string(victim.backend_pid())}, In(5'000'000));
  ASSERT_TRUE(killed.ok()) << killed.status().ToString();
  auto res = victim.Exec("SELECT 1", In(5'000'000));
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.status().retryable()) << res.status().ToString();
  EXPECT_EQ(res.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(victim.is_broken());
  auto again = victim.Exec("SELECT 1", In(5'000'000));
  EXPECT_EQ(again.status().code(), StatusCode::kUnavailable);
}

TEST_F(PgConnectionTest, LockTimeoutIsRetryableBusy) {
  auto db = env_->CreateDatabase("pgconn_lock");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  PgConnection a = Connect(db->admin_url);
  PgConnection b = Connect(db->admin_url);
  ASSERT_TRUE(
      a.Exec("CREATE TABLE t (k int PRIMARY KEY); INSERT INTO t VALUES (1)", In(5'000'000)).ok());
  ASSERT_TRUE(a.Exec("BEGIN; UPDATE t SET k = 1 WHERE k = 1", In(5'000'000)).ok());
  auto res = b.Exec("SET lock_timeout = '100ms'; UPDATE t SET k = 1 WHERE k = 1", In(5'000'000));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(SqlStateOf(res.status()), "55P03");
  EXPECT_EQ(res.status().code(), StatusCode::kBusy);
  EXPECT_TRUE(res.status().retryable());
  EXPECT_TRUE(a.Exec("ROLLBACK", In(5'000'000)).ok());
}

TEST_F(PgConnectionTest, MovedConnectionKeepsWorking) {
  PgConnection a = Connect(env_->admin_url());
  const int pid = a.backend_pid();
  PgConnection b = std::move(a);
  EXPECT_EQ(b.backend_pid(), pid);
  EXPECT_TRUE(b.Exec("SELECT 1", In(5'000'000)).ok());
}

}  // namespace
}  // namespace owsync::shipper
