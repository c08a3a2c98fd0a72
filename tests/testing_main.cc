// main() of every *_pg_test binary: provides a real PostgreSQL (PgTestEnv) to all tests, drops
// each test's databases after it, and removes a server it started itself when the run ends —
// normally, on failure, on SIGINT/SIGTERM/SIGHUP, or on abort() (the handler hands the signal
// to a watcher thread, which stops the server and removes its directory before the signal
// takes its default effect).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <thread>

#include "tests/pg_test_env.h"

namespace {

using owsync::tests::PgTestEnv;

// Signal handling needs process-wide state: the pipes the handler writes to and waits on.
int g_signal_pipe[2] = {-1, -1};
int g_ack_pipe[2] = {-1, -1};
// Not SIGSEGV/SIGBUS/SIGFPE: AddressSanitizer reports those itself. After such a crash the
// server still stops (it gets SIGQUIT when its parent dies); only its directory is left.
constexpr int kHandledSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGABRT};

void OnSignal(int sig) {
  const unsigned char b = static_cast<unsigned char>(sig);
  if (::write(g_signal_pipe[1], &b, 1) == 1) {
    unsigned char ack;
    ssize_t n;
    do {
      n = ::read(g_ack_pipe[0], &ack, 1);  // wait until the server is gone
    } while (n < 0 && errno == EINTR);
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void WatchSignals(PgTestEnv* env) {
  unsigned char sig;
  ssize_t n;
  do {
    n = ::read(g_signal_pipe[0], &sig, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) return;  // pipe closed: normal exit
  std::fprintf(stderr, "pg test harness: signal %d: stopping and removing the test server\n", sig);
  env->EmergencyStop();
  const unsigned char ack = 1;
  ssize_t ignored = ::write(g_ack_pipe[1], &ack, 1);
  (void)ignored;
}

class DropDatabasesAfterEachTest : public testing::EmptyTestEventListener {
 public:
  explicit DropDatabasesAfterEachTest(PgTestEnv* env) : env_(env) {}
  void OnTestEnd(const testing::TestInfo&) override { env_->DropTestDatabases(); }

 private:
  PgTestEnv* env_;
};

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (GTEST_FLAG_GET(list_tests)) return RUN_ALL_TESTS();

  auto env = PgTestEnv::Create();
  if (!env.ok()) {
    std::fprintf(stderr,
                 "FAILED: no PostgreSQL for the tests: %s\n"
                 "(set OWSYNC_TEST_PG_URL, or install postgresql-15: scripts/install-deps.sh)\n",
                 env.status().ToString().c_str());
    return 1;
  }
  PgTestEnv::Install(env->get());

  std::thread watcher;
  if ((*env)->local_postgres() != nullptr && ::pipe(g_signal_pipe) == 0 &&
      ::pipe(g_ack_pipe) == 0) {
    watcher = std::thread(WatchSignals, env->get());
    for (int sig : kHandledSignals) ::signal(sig, OnSignal);
  }
  testing::UnitTest::GetInstance()->listeners().Append(new DropDatabasesAfterEachTest(env->get()));

  const int rc = RUN_ALL_TESTS();

  if (watcher.joinable()) {
    for (int sig : kHandledSignals) ::signal(sig, SIG_DFL);
    ::close(g_signal_pipe[1]);  // ends the watcher
    watcher.join();
  }
  PgTestEnv::Install(nullptr);
  env->reset();  // drops leftovers, stops and removes our own server
  return rc;
}
