// LocalPostgres: the private server under every test. These tests start servers of their own
// (never stopping the shared one).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/local_postgres.h"
#include "shipper/pg_connection.h"
#include "shipper/pg_error.h"
#include "tests/pg_test_env.h"

namespace owsync::cli {
namespace {

using shipper::Deadline;
using shipper::PgConnection;
using tests::PgTestEnv;

class LocalPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = PgTestEnv::Get();
    ASSERT_NE(env_, nullptr);
  }
  Deadline In(int64_t micros) { return Deadline::After(env_->clock(), micros); }
  Result<PgConnection> Connect(const std::string& url) {
    return PgConnection::Connect(env_->clock(), url, In(10'000'000));
  }
  std::string Query(PgConnection* conn, const std::string& sql) {
    auto res = conn->Exec(sql, In(10'000'000));
    EXPECT_TRUE(res.ok()) << sql << ": " << res.status().ToString();
    return res.ok() && res->rows() > 0 ? std::string(res->GetValue(0, 0)) : "";
  }
  PgTestEnv* env_ = nullptr;
};

TEST_F(LocalPostgresTest, RunsPrivatelyOnLoopbackWithFsyncAndIsRemovedOnStop) {
  auto pg = env_->StartPrivatePostgres();
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  const std::string dir = (*pg)->dir();
  EXPECT_TRUE(env_->fs()->FileExists(JoinPath((*pg)->data_dir(), "PG_VERSION")));
  EXPECT_TRUE((*pg)->running());

  // initdb and postgres refuse root: as root, the server runs as an unprivileged account.
  struct stat st {};
  ASSERT_EQ(::stat((*pg)->data_dir().c_str(), &st), 0);
  if (::geteuid() == 0) {
    ASSERT_TRUE((*pg)->server_user().has_value());
    EXPECT_NE(st.st_uid, 0u) << "the data directory must not belong to root";
    EXPECT_EQ(st.st_uid, (*pg)->server_user()->uid);
  } else {
    EXPECT_FALSE((*pg)->server_user().has_value());
    EXPECT_EQ(st.st_uid, ::geteuid());
  }
  EXPECT_EQ(st.st_mode & 0077, 0u) << "data directory must be private";

  {
    auto conn = Connect((*pg)->admin_url());
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    EXPECT_EQ(Query(&*conn, "SHOW listen_addresses"), "127.0.0.1");
    EXPECT_EQ(Query(&*conn, "SHOW fsync"), "on");
    EXPECT_EQ(Query(&*conn, "SHOW port"), std::to_string((*pg)->port()));
    EXPECT_EQ(Query(&*conn, "SHOW server_version_num").substr(0, 2), "15");
    EXPECT_EQ(Query(&*conn, "SELECT current_user"), LocalPostgres::kAdminUser);
    EXPECT_EQ(Query(&*conn, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"), "t");
    EXPECT_EQ(Query(&*conn, "SHOW server_encoding"), "UTF8");
    EXPECT_EQ(Query(&*conn, "SHOW lc_collate"), "C");

    // The administrator is trusted; every other role needs its SCRAM password.
    auto verifier = conn->ScramVerifier("s3cret", "app");
    ASSERT_TRUE(verifier.ok());
    Query(&*conn, "CREATE ROLE app LOGIN PASSWORD " + *conn->QuoteLiteral(*verifier));
    EXPECT_TRUE(Connect((*pg)->UrlFor("app", "s3cret", "postgres")).ok());
    auto no_password = Connect((*pg)->UrlFor("app", std::nullopt, "postgres"));
    ASSERT_FALSE(no_password.ok());
    EXPECT_EQ(no_password.status().code(), StatusCode::kPermissionDenied)
        << no_password.status().ToString();
    auto wrong = Connect((*pg)->UrlFor("app", "nope", "postgres"));
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.status().code(), StatusCode::kPermissionDenied);
  }

  ASSERT_TRUE((*pg)->Stop().ok());
  EXPECT_FALSE((*pg)->running());
  EXPECT_FALSE(env_->fs()->FileExists(dir)) << dir << " still exists after Stop";
  auto after = Connect((*pg)->admin_url());
  EXPECT_FALSE(after.ok());
  EXPECT_TRUE((*pg)->Stop().ok()) << "Stop is idempotent";
}

TEST_F(LocalPostgresTest, RestartsAndOutagesKeepDataAndPortUntilDestruction) {
  std::string dir;
  {
    auto pg = env_->StartPrivatePostgres();
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    dir = (*pg)->dir();
    const int port = (*pg)->port();
    {
      auto conn = Connect((*pg)->admin_url());
      ASSERT_TRUE(conn.ok());
      Query(&*conn, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (1)");
      ASSERT_TRUE((*pg)->Restart(StopMode::kFast).ok());
      auto lost = conn->Exec("SELECT 1", In(5'000'000));
      EXPECT_FALSE(lost.ok());
      EXPECT_TRUE(lost.status().retryable()) << lost.status().ToString();
    }
    EXPECT_EQ((*pg)->port(), port);
    {
      auto conn = Connect((*pg)->admin_url());
      ASSERT_TRUE(conn.ok()) << conn.status().ToString();
      Query(&*conn, "INSERT INTO kept VALUES (2)");  // committed, then a crash
    }
    ASSERT_TRUE((*pg)->Restart(StopMode::kImmediate).ok());
    {
      auto conn = Connect((*pg)->admin_url());
      ASSERT_TRUE(conn.ok()) << conn.status().ToString();
      EXPECT_EQ(Query(&*conn, "SELECT string_agg(v::text, ',' ORDER BY v) FROM kept"), "1,2");
    }

    // An outage: connects fail as retryable until the server is back, with its data.
    ASSERT_TRUE((*pg)->StopServer().ok());
    EXPECT_FALSE((*pg)->running());
    EXPECT_TRUE(env_->fs()->FileExists((*pg)->data_dir())) << "an outage keeps the data";
    auto down = Connect((*pg)->admin_url());
    ASSERT_FALSE(down.ok());
    EXPECT_EQ(down.status().code(), StatusCode::kUnavailable);
    EXPECT_TRUE(down.status().retryable());
    ASSERT_TRUE((*pg)->StartServer().ok());
    auto back = Connect((*pg)->admin_url());
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(Query(&*back, "SELECT count(*) FROM kept"), "2");
  }
  EXPECT_FALSE(env_->fs()->FileExists(dir)) << "the destructor removes the directory";
}

TEST_F(LocalPostgresTest, FailedStartQuotesTheServerLog) {
  LocalPostgresOptions o;
  o.fs = env_->fs();
  o.clock = env_->clock();
  o.bindir = env_->bindir();
  o.settings = {{"shared_buffers", "not-a-size"}};
  auto pg = LocalPostgres::Start(o);
  ASSERT_FALSE(pg.ok());
  EXPECT_NE(pg.status().message().find("postgres.log"), std::string::npos)
      << pg.status().ToString();
  EXPECT_NE(pg.status().message().find("shared_buffers"), std::string::npos)
      << pg.status().ToString();
}

TEST_F(LocalPostgresTest, MissingBinariesAreAClearError) {
  LocalPostgresOptions o;
  o.fs = env_->fs();
  o.clock = env_->clock();
  o.bindir = "/nonexistent/postgresql/bin";
  auto pg = LocalPostgres::Start(o);
  ASSERT_FALSE(pg.ok());
  EXPECT_EQ(pg.status().code(), StatusCode::kNotFound);
  EXPECT_NE(pg.status().message().find("/nonexistent/postgresql/bin"), std::string::npos);
}

}  // namespace
}  // namespace owsync::cli
