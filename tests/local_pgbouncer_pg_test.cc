// LocalPgBouncer: transaction pooling in front of the shared test server.
#include <gtest/gtest.h>

#include "cli/local_pgbouncer.h"
#include "shipper/pg_connection.h"
#include "shipper/pg_error.h"
#include "tests/pg_test_env.h"

namespace owsync::cli {
namespace {

using shipper::Deadline;
using shipper::PgConnection;
using tests::PgTestEnv;

class LocalPgBouncerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = PgTestEnv::Get();
    ASSERT_NE(env_, nullptr);
  }
  Deadline In(int64_t micros) { return Deadline::After(env_->clock(), micros); }
  Result<PgConnection> Connect(const std::string& url, int64_t micros = 10'000'000) {
    return PgConnection::Connect(env_->clock(), url, In(micros));
  }
  // A login role with a SCRAM password, unique on the shared server.
  std::string MakeRole(const std::string& password) {
    const std::string role = env_->UniqueName("bouncer_role");
    auto admin = Connect(env_->admin_url());
    EXPECT_TRUE(admin.ok());
    auto verifier = admin->ScramVerifier(password, role);
    EXPECT_TRUE(verifier.ok());
    auto created = admin->Exec("CREATE ROLE " + *admin->QuoteIdentifier(role) + " LOGIN PASSWORD " +
                                   *admin->QuoteLiteral(*verifier),
                               In(5'000'000));
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return role;
  }
  PgTestEnv* env_ = nullptr;
};

TEST_F(LocalPgBouncerTest, AdminAndScramRolesQueryThroughIt) {
  auto bouncer = env_->StartPgBouncer();
  ASSERT_TRUE(bouncer.ok()) << bouncer.status().ToString();
  const std::string role = MakeRole("pw-through-bouncer");  // created after pgbouncer started
  auto admin = Connect((*bouncer)->UrlFor("owsync_admin", std::nullopt, "postgres"));
  ASSERT_TRUE(admin.ok()) << admin.status().ToString();
  auto res = admin->Exec("SELECT current_user, inet_server_port()", In(5'000'000));
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->GetValue(0, 0), "owsync_admin");
  EXPECT_EQ(res->GetValue(0, 1), std::to_string(env_->port())) << "must reach the real server";

  auto host = Connect((*bouncer)->UrlFor(role, "pw-through-bouncer", "postgres"));
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  auto who = host->Exec("SELECT current_user", In(5'000'000));
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_EQ(who->GetValue(0, 0), role);

  auto wrong = Connect((*bouncer)->UrlFor(role, "not-it", "postgres"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kPermissionDenied) << wrong.status().ToString();
}

TEST_F(LocalPgBouncerTest, TransactionModeSharesOneServerConnectionBetweenClients) {
  auto bouncer = env_->StartPgBouncer(/*default_pool_size=*/1);
  ASSERT_TRUE(bouncer.ok()) << bouncer.status().ToString();
  const std::string url = (*bouncer)->UrlFor("owsync_admin", std::nullopt, "postgres");
  auto a = Connect(url);
  auto b = Connect(url);
  ASSERT_TRUE(a.ok() && b.ok());
  // With one server connection, session pooling would make b wait for a to disconnect; in
  // transaction mode both run, on the same backend.
  auto pid_a = a->Exec("SELECT pg_backend_pid()", In(3'000'000));
  auto pid_b = b->Exec("SELECT pg_backend_pid()", In(3'000'000));
  ASSERT_TRUE(pid_a.ok()) << pid_a.status().ToString();
  ASSERT_TRUE(pid_b.ok()) << pid_b.status().ToString();
  EXPECT_EQ(pid_a->GetValue(0, 0), pid_b->GetValue(0, 0));
  // An open transaction holds the server connection until it ends.
  ASSERT_TRUE(a->Exec("BEGIN; SELECT 1", In(3'000'000)).ok());
  auto blocked = b->Exec("SELECT 2", In(300'000));
  EXPECT_FALSE(blocked.ok());
  ASSERT_TRUE(a->Exec("COMMIT", In(3'000'000)).ok());
  auto b2 = Connect(url);
  ASSERT_TRUE(b2.ok());
  EXPECT_TRUE(b2->Exec("SELECT 3", In(3'000'000)).ok());
}

TEST_F(LocalPgBouncerTest, PauseCutsClientsOffAndResumeLetsThemContinue) {
  auto bouncer = env_->StartPgBouncer();
  ASSERT_TRUE(bouncer.ok()) << bouncer.status().ToString();
  const std::string url = (*bouncer)->UrlFor("owsync_admin", std::nullopt, "postgres");
  auto kept = Connect(url);
  auto cut = Connect(url);
  ASSERT_TRUE(kept.ok() && cut.ok());
  ASSERT_TRUE((*bouncer)->Pause().ok());
  EXPECT_TRUE((*bouncer)->paused());
  const int64_t start = env_->clock()->MonotonicMicros();
  auto frozen = cut->Exec("SELECT 1", In(300'000));
  const int64_t elapsed = env_->clock()->MonotonicMicros() - start;
  ASSERT_FALSE(frozen.ok());
  EXPECT_TRUE(frozen.status().retryable()) << frozen.status().ToString();
  EXPECT_LT(elapsed, 300'000 + 3'000'000) << "a frozen pooler must not hang the caller";
  auto new_conn = Connect(url, 300'000);
  EXPECT_FALSE(new_conn.ok());
  ASSERT_TRUE((*bouncer)->Resume().ok());
  auto res = kept->Exec("SELECT 42", In(5'000'000));
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->GetValue(0, 0), "42");
}

TEST_F(LocalPgBouncerTest, StopRemovesItsDirectoryAndClosesThePort) {
  auto bouncer = env_->StartPgBouncer();
  ASSERT_TRUE(bouncer.ok()) << bouncer.status().ToString();
  const std::string dir = (*bouncer)->dir();
  const std::string url = (*bouncer)->UrlFor("owsync_admin", std::nullopt, "postgres");
  ASSERT_TRUE(env_->fs()->FileExists(dir));
  ASSERT_TRUE((*bouncer)->Pause().ok());  // stopping a paused pgbouncer must work too
  ASSERT_TRUE((*bouncer)->Stop().ok());
  EXPECT_FALSE(env_->fs()->FileExists(dir));
  auto conn = Connect(url, 2'000'000);
  EXPECT_FALSE(conn.ok());
}

}  // namespace
}  // namespace owsync::cli
