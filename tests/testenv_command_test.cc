// `owsync testenv -- CMD`: a private server for CMD's lifetime, CMD's exit code, signal
// forwarding, and removal of the server however CMD ends. Runs the command in-process.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <thread>

#include "cli/private_dir.h"
#include "shipper/pg_connection.h"
#include "tests/cli_runner.h"
#include "util/scoped_temp_dir.h"

namespace owsync::cli {
namespace {

class TestenvCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_ = NewPosixFileSystem();
    clock_ = NewSystemClock();
    logger_ = NewStderrLogger("testenv-test", LogLevel::kWarn);
    auto tmp = ScopedTempDir::Create("owsync-testenv-test-");
    ASSERT_TRUE(tmp.ok());
    tmp_.emplace(std::move(*tmp));
  }
  tests::CliRun Run(const std::vector<std::string>& args) {
    return tests::RunCli(args, fs_.get(), clock_.get(), logger_.get());
  }
  // The server directory testenv announced on stderr: "... (<dir>)".
  static std::string AnnouncedDir(const std::string& err) {
    const size_t open = err.find("(/");
    const size_t close = err.find(")\n", open);
    if (open == std::string::npos || close == std::string::npos) return "";
    return err.substr(open + 1, close - open - 1);
  }
  bool Reachable(const std::string& url) {
    return shipper::PgConnection::Connect(clock_.get(), url,
                                          shipper::Deadline::After(clock_.get(), 2'000'000))
        .ok();
  }

  std::unique_ptr<FileSystem> fs_;
  std::unique_ptr<Clock> clock_;
  std::unique_ptr<Logger> logger_;
  std::optional<ScopedTempDir> tmp_;
};

TEST_F(TestenvCommandTest, CommandGetsAServerAndItsExitCodeIsReturned) {
  const std::string url_file = tmp_->Child("url");
  auto run = Run({"testenv", "--", "sh", "-c",
                  "test -n \"$OWSYNC_TEST_PG_URL\" && test -x \"$OWSYNC_TEST_PG_BINDIR/postgres\" "
                  "&& \"$OWSYNC_TEST_PG_BINDIR/psql\" \"$OWSYNC_TEST_PG_URL\" -Atc 'SELECT 6*7' "
                  "&& printf %s \"$OWSYNC_TEST_PG_URL\" > " +
                      url_file + " && exit 7"});
  EXPECT_EQ(run.exit_code, 7) << run.err;
  EXPECT_NE(run.out.find("42"), std::string::npos) << run.out;
  const std::string dir = AnnouncedDir(run.err);
  ASSERT_FALSE(dir.empty()) << run.err;
  EXPECT_FALSE(fs_->FileExists(dir)) << "server directory left behind";
  auto url = ReadFileToString(fs_.get(), url_file);
  ASSERT_TRUE(url.ok());
  EXPECT_FALSE(Reachable(*url)) << "server still running";
}

TEST_F(TestenvCommandTest, SuccessIsZeroAndAMissingCommandFails) {
  auto ok = Run({"testenv", "--", "true"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_FALSE(fs_->FileExists(AnnouncedDir(ok.err)));
  auto missing = Run({"testenv", "--", "/nonexistent/command"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("/nonexistent/command"), std::string::npos) << missing.err;
  EXPECT_FALSE(fs_->FileExists(AnnouncedDir(missing.err)));
  auto usage = Run({"testenv"});
  EXPECT_NE(usage.exit_code, 0);
}

TEST_F(TestenvCommandTest, ForwardsSigtermToTheCommandAndStillRemovesTheServer) {
  const std::string ready = tmp_->Child("ready");
  tests::CliRun run;
  std::thread runner([&]() {
    run = Run({"testenv", "--", "sh", "-c",
               "trap 'exit 42' TERM; printf %s \"$OWSYNC_TEST_PG_URL\" > " + ready + ".tmp && mv " +
                   ready + ".tmp " + ready +
                   "; i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; exit 3"});
  });
  const int64_t end = clock_->MonotonicMicros() + 60'000'000;
  while (!fs_->FileExists(ready) && clock_->MonotonicMicros() < end) clock_->SleepForMicros(20'000);
  ASSERT_TRUE(fs_->FileExists(ready)) << "command never started";
  // testenv blocks SIGTERM in its thread and takes it with sigtimedwait: deliver it there.
  ASSERT_EQ(pthread_kill(runner.native_handle(), SIGTERM), 0);
  runner.join();
  EXPECT_EQ(run.exit_code, 42) << run.err;
  EXPECT_FALSE(fs_->FileExists(AnnouncedDir(run.err)));
  auto url = ReadFileToString(fs_.get(), ready);
  ASSERT_TRUE(url.ok());
  EXPECT_FALSE(Reachable(*url));
}

TEST_F(TestenvCommandTest, KeepLeavesTheDirectoryButStopsTheServer) {
  auto run = Run({"testenv", "--keep", "--", "true"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const std::string dir = AnnouncedDir(run.err);
  ASSERT_FALSE(dir.empty());
  EXPECT_TRUE(fs_->FileExists(JoinPath(dir, "postgres.log")));
  EXPECT_FALSE(fs_->FileExists(JoinPath(JoinPath(dir, "data"), "postmaster.pid")));
  EXPECT_TRUE(RemoveTree(fs_.get(), dir).ok());
}

}  // namespace
}  // namespace owsync::cli
