// The PostgreSQL test harness itself: unique databases and names, URLs, and that a server it
// started is gone after the test process is interrupted or killed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>

#include "cli/child_process.h"
#include "cli/private_dir.h"
#include "shipper/pg_connection.h"
#include "tests/pg_test_env.h"
#include "util/scoped_temp_dir.h"

namespace owsync::tests {
namespace {

using shipper::Deadline;
using shipper::PgConnection;

constexpr const char* kChildFileVar = "OWSYNC_HARNESS_CHILD_FILE";

class PgHarnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = PgTestEnv::Get();
    ASSERT_NE(env_, nullptr);
  }
  bool Reachable(const std::string& url) {
    return PgConnection::Connect(env_->clock(), url, Deadline::After(env_->clock(), 2'000'000))
        .ok();
  }
  // Runs this binary's child test with no shared server, waits until it reports its private
  // server ("<dir> <port>"), sends `sig`, and returns the child's wait status.
  void RunChildAndSignal(int sig, std::string* dir, int* port, int* wait_status) {
    auto tmp = ScopedTempDir::Create("owsync-harness-");
    ASSERT_TRUE(tmp.ok());
    const std::string report = tmp->Child("report");
    cli::ChildProcessOptions o;
    o.argv = {"/proc/self/exe", "--gtest_filter=PgHarnessChild.DISABLED_ReportServerAndWait",
              "--gtest_also_run_disabled_tests"};
    // Built with append(), not operator+: GCC 12 at -O2 reports a false -Warray-bounds on the
    // inlined operator+ here (GCC bug 105329).
    std::string child_var(kChildFileVar);
    child_var.append("=").append(report);
    o.env = cli::EnvironmentWith({child_var}, {"OWSYNC_TEST_PG_URL"});
    o.output_path = tmp->Child("child.log");
    auto child = cli::ChildProcess::Start(o);
    ASSERT_TRUE(child.ok()) << child.status().ToString();
    const int64_t end = env_->clock()->MonotonicMicros() + 60'000'000;
    while (!env_->fs()->FileExists(report) && env_->clock()->MonotonicMicros() < end) {
      env_->clock()->SleepForMicros(20'000);
    }
    ASSERT_TRUE(env_->fs()->FileExists(report)) << *ReadFileToString(env_->fs(), o.output_path);
    auto text = ReadFileToString(env_->fs(), report);
    ASSERT_TRUE(text.ok());
    const size_t space = text->find(' ');
    *dir = text->substr(0, space);
    *port = std::atoi(text->substr(space + 1).c_str());
    ASSERT_TRUE(env_->fs()->FileExists(*dir));
    ASSERT_TRUE(child->Signal(sig).ok());
    auto st = child->WaitFor(env_->clock(), 60'000'000);
    ASSERT_TRUE(st.ok() && st->has_value()) << "child did not exit";
    *wait_status = **st;
  }
  std::string AdminUrlOn(int port) {
    return "postgresql://owsync_admin@127.0.0.1:" + std::to_string(port) + "/postgres";
  }
  PgTestEnv* env_ = nullptr;
};

TEST_F(PgHarnessTest, DatabasesAreFreshUniqueAndDroppedAfterTheTest) {
  auto a = env_->CreateDatabase("harness");
  auto b = env_->CreateDatabase("harness");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->name, b->name);
  auto conn = env_->ConnectAdmin(a->admin_url);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  auto tables = conn->Exec(
      "SELECT current_database(), count(*) FROM pg_class c JOIN "
      "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'",
      Deadline::After(env_->clock(), 5'000'000));
  ASSERT_TRUE(tables.ok());
  EXPECT_EQ(tables->GetValue(0, 0), a->name);
  EXPECT_EQ(tables->GetValue(0, 1), "0") << "a fresh database is empty";
  env_->DropTestDatabases();  // what testing_main does after each test
  auto gone = env_->ConnectAdmin(b->admin_url);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound) << gone.status().ToString();
}

TEST_F(PgHarnessTest, UniqueNamesAreDistinctLowerCaseAndBounded) {
  const std::string a = env_->UniqueName("Host-A.example");
  const std::string b = env_->UniqueName("Host-A.example");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.rfind("host_a_example_", 0), 0u) << a;
  EXPECT_LE(env_->UniqueName(std::string(100, 'x')).size(), 63u);
}

TEST_F(PgHarnessTest, UrlForReachesTheSameServerAsAnotherRole) {
  auto admin = env_->ConnectAdmin(env_->admin_url());
  ASSERT_TRUE(admin.ok());
  const std::string role = env_->UniqueName("harness_role");
  auto verifier = admin->ScramVerifier("pw", role);
  ASSERT_TRUE(verifier.ok());
  ASSERT_TRUE(
      admin
          ->Exec("CREATE ROLE " + role + " LOGIN PASSWORD " + *admin->QuoteLiteral(*verifier),
                 Deadline::After(env_->clock(), 5'000'000))
          .ok());
  EXPECT_TRUE(Reachable(env_->UrlFor(role, "pw", "postgres")));
  EXPECT_FALSE(Reachable(env_->UrlFor(role, std::nullopt, "postgres")));
}

TEST_F(PgHarnessTest, SigtermStopsAndRemovesTheHarnessServer) {
  std::string dir;
  int port = 0;
  int status = 0;
  RunChildAndSignal(SIGTERM, &dir, &port, &status);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM)
      << cli::DescribeWaitStatus(status);
  EXPECT_FALSE(env_->fs()->FileExists(dir)) << dir << " left behind";
  EXPECT_FALSE(Reachable(AdminUrlOn(port)));
}

TEST_F(PgHarnessTest, SigkilledTestProcessLeavesNoServerRunning) {
  std::string dir;
  int port = 0;
  int status = 0;
  RunChildAndSignal(SIGKILL, &dir, &port, &status);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  // Nothing can clean up after SIGKILL, but the server follows its parent (PR_SET_PDEATHSIG).
  const int64_t end = env_->clock()->MonotonicMicros() + 20'000'000;
  while (Reachable(AdminUrlOn(port)) && env_->clock()->MonotonicMicros() < end) {
    env_->clock()->SleepForMicros(100'000);
  }
  EXPECT_FALSE(Reachable(AdminUrlOn(port))) << "server outlived its SIGKILLed parent";
  EXPECT_TRUE(cli::RemoveTree(env_->fs(), dir).ok());
}

// The child half of the two signal tests above (run by them with
// --gtest_also_run_disabled_tests): reports its private server, then waits to be signalled.
TEST(PgHarnessChild, DISABLED_ReportServerAndWait) {
  const char* report = std::getenv(kChildFileVar);
  ASSERT_NE(report, nullptr) << "run only by PgHarnessTest";
  PgTestEnv* env = PgTestEnv::Get();
  ASSERT_NE(env->local_postgres(), nullptr) << "expected a private server";
  ASSERT_TRUE(WriteFileAtomically(env->fs(), report,
                                  env->local_postgres()->dir() + " " +
                                      std::to_string(env->local_postgres()->port()))
                  .ok());
  env->clock()->SleepForMicros(60'000'000);
  FAIL() << "was not signalled";
}

}  // namespace
}  // namespace owsync::tests
