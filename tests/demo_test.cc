// `owsync demo`, run as a person would: the real binary in a child process, with its own
// private PostgreSQL. A short run (with its failover: the leading ship node SIGKILLed while the
// application writes) must measure the takeover, pass verify and leave nothing behind; Ctrl-C
// in the middle must stop every process and remove every file too.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <regex>
#include <string>

#include "cli/child_process.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/scoped_temp_dir.h"

namespace owsync::tests {
namespace {

class DemoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("owsync-demo-test-");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    dir_.emplace(std::move(*dir));
    log_ = dir_->Child("demo.log");
  }

  Result<cli::ChildProcess> StartDemo(const std::vector<std::string>& args) {
    cli::ChildProcessOptions o;
    o.argv = {OWSYNC_BINARY_PATH, "demo"};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.output_path = log_;
    o.own_process_group = true;  // the test's own Ctrl-C handling stays out of it
    return cli::ChildProcess::Start(o);
  }

  std::string Output() { return ReadFileToString(fs_.get(), log_).value_or(""); }

  // The path printed after `prefix` up to the end of the word ("" when not printed yet).
  std::string PathAfter(const std::string& text, const std::string& prefix) {
    std::smatch m;
    if (!std::regex_search(text, m, std::regex(prefix + "(/[^ ,\n]+)"))) return "";
    return m[1].str();
  }

  static bool Exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  // Processes whose command line mentions `needle` (the demo's children name its directory).
  static std::vector<std::string> ProcessesMentioning(const std::string& needle) {
    std::vector<std::string> found;
    auto fs = NewPosixFileSystem();
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return found;
    while (dirent* e = ::readdir(proc)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      auto cmdline = ReadFileToString(fs.get(), std::string("/proc/") + e->d_name + "/cmdline");
      if (cmdline.ok() && cmdline->find(needle) != std::string::npos) {
        std::string shown = *cmdline;
        for (char& c : shown) c = c == '\0' ? ' ' : c;
        found.push_back(std::string(e->d_name) + ": " + shown);
      }
    }
    ::closedir(proc);
    return found;
  }

  void ExpectNothingLeft(const std::string& out) {
    const std::string work = PathAfter(out, "working directory ");
    const std::string pg = PathAfter(out, "data in ");
    ASSERT_FALSE(work.empty()) << out;
    ASSERT_FALSE(pg.empty()) << out;
    EXPECT_FALSE(Exists(work)) << work << " was not removed\n" << out;
    EXPECT_FALSE(Exists(pg)) << pg << " was not removed\n" << out;
    for (const std::string& needle : {work, pg}) {
      std::vector<std::string> left = ProcessesMentioning(needle);
      EXPECT_TRUE(left.empty()) << "still running: " << left.front();
    }
  }

  // The failover phase: the leader was SIGKILLed while the application wrote (between two
  // progress lines), the other node took over with a newer epoch and committed, the takeover
  // time is measured and reported, the restarted node followed, and verify passed after it.
  void ExpectFailover(const std::string& out) {
    std::smatch kill;
    ASSERT_TRUE(std::regex_search(
        out, kill,
        std::regex("SIGKILL to the leader ship-(primary|secondary) \\(pid [0-9]+, epoch "
                   "([0-9]+)\\) at acked offset [0-9]+: killed by signal 9")))
        << out;
    const std::string old_role = kill[1].str();
    const std::string new_role = old_role == "primary" ? "secondary" : "primary";
    const int64_t old_epoch = std::stoll(kill[2].str());
    // Mid-stream: the application wrote before the kill and went on after it.
    const size_t kill_at = static_cast<size_t>(kill.position(0));
    const size_t written = out.find("written ");
    EXPECT_LT(written, kill_at) << "no progress line before the kill\n" << out;
    EXPECT_NE(out.find("written ", kill_at), std::string::npos)
        << "the application did not write after the kill\n"
        << out;
    EXPECT_LT(kill_at, out.find("the application stopped")) << out;

    std::smatch took;
    ASSERT_TRUE(
        std::regex_search(out, took,
                          std::regex("ship-" + new_role +
                                     " took the lease ([0-9.]+) s after the kill with epoch "
                                     "([0-9]+)")))
        << out;
    const int64_t new_epoch = std::stoll(took[2].str());
    EXPECT_GT(new_epoch, old_epoch) << out;
    std::smatch takeover;
    ASSERT_TRUE(std::regex_search(
        out, takeover,
        std::regex("committed its first batch ([0-9.]+) s after the kill \\(acked offset "
                   "([0-9]+) -> ([0-9]+)\\): takeover ([0-9.]+) s")))
        << out;
    const double first_commit = std::stod(takeover[1].str());
    EXPECT_GE(first_commit, std::stod(took[1].str())) << out;
    EXPECT_GT(std::stoll(takeover[3].str()), std::stoll(takeover[2].str())) << out;
    // The advisory-lock fast path: waiting for the lease (5 s, renewed every 1.7 s) alone
    // would take 3.3 s at least; the follower sees the leader's session gone within its 0.5 s
    // retry. The first batch then follows the tenant's start-up (generous bound: loaded CI).
    EXPECT_LT(std::stod(took[1].str()), 3.0) << out;
    EXPECT_LT(first_commit, 10.0) << out;
    EXPECT_NE(out.find("restarted ship-" + old_role), std::string::npos) << out;
    EXPECT_NE(out.find("leadership did not move back"), std::string::npos) << out;

    // The summary reports the same.
    EXPECT_TRUE(std::regex_search(
        out, std::regex("failover +SIGKILL of the leader ship-" + old_role + " .*ship-" + new_role +
                        " took over with epoch " + std::to_string(new_epoch))))
        << out;
    EXPECT_TRUE(std::regex_search(out, std::regex("takeover +" + takeover[1].str() +
                                                  " s from the kill to the new "
                                                  "leader's first commit")))
        << out;
    EXPECT_TRUE(
        std::regex_search(out, std::regex("after failover +the restarted ship-" + old_role +
                                          " came back as a follower; ship-" + new_role +
                                          " led to the end; verify after the failover PASSED")))
        << out;
  }

  std::unique_ptr<FileSystem> fs_ = NewPosixFileSystem();
  std::unique_ptr<Clock> clock_ = NewSystemClock();
  std::optional<ScopedTempDir> dir_;
  std::string log_;
};

TEST_F(DemoTest, ShortRunFailsOverShipsEverythingPassesVerifyAndRemovesEverything) {
  auto demo = StartDemo({"--seconds", "4", "--chats", "40", "--rate", "40"});
  ASSERT_TRUE(demo.ok()) << demo.status().ToString();
  auto status = demo->WaitFor(clock_.get(), 180'000'000);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  ASSERT_TRUE(status->has_value()) << "demo still running after 180 s\n" << Output();
  const std::string out = Output();
  ASSERT_EQ(cli::ExitCodeOf(**status), 0) << out;

  // Every phase ran, the progress line showed the offsets, and the summary says it passed.
  for (const char* phase :
       {"[1/8]", "[2/8]", "[3/8]", "[4/8]", "[5/8]", "[6/8]", "[7/8]", "[8/8]"}) {
    EXPECT_NE(out.find(phase), std::string::npos) << phase << "\n" << out;
  }
  EXPECT_TRUE(std::regex_search(out, std::regex("outbox durable +[0-9]+ \\| PostgreSQL acked")))
      << out;
  EXPECT_NE(out.find("verify: PASSED"), std::string::npos) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("verify +PASSED \\(0 differences\\)"))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("caught up +[0-9.]+ s after"))) << out;
  // acked == durable at the end, and the same number is reported as shipped in all.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("acked == durable == ([0-9]+)"))) << out;
  EXPECT_GT(std::stoll(m[1].str()), 40 * 11) << "at least the chats and messages were shipped";
  EXPECT_NE(out.find(m[1].str() + " records in all"), std::string::npos) << out;
  EXPECT_NE(out.find("owsync demo: done"), std::string::npos) << out;
  ExpectFailover(out);
  ExpectNothingLeft(out);
}

TEST_F(DemoTest, CtrlCWhileShippingStopsEveryProcessAndRemovesTheFiles) {
  auto demo = StartDemo({"--seconds", "120", "--chats", "40", "--rate", "40"});
  ASSERT_TRUE(demo.ok()) << demo.status().ToString();
  // Wait until the application writes while capture and ship run, and a progress line shows.
  const int64_t give_up = clock_->MonotonicMicros() + 120'000'000;
  while (true) {
    const std::string out = Output();
    const size_t writing = out.find("[5/8]");
    if (writing != std::string::npos &&
        out.find("PostgreSQL acked", writing) != std::string::npos) {
      break;
    }
    ASSERT_TRUE(demo->running()) << out;
    ASSERT_LT(clock_->MonotonicMicros(), give_up) << "never reached the writing phase\n" << out;
    clock_->SleepForMicros(100'000);
  }
  ASSERT_TRUE(demo->Signal(SIGINT).ok());
  auto status = demo->WaitFor(clock_.get(), 60'000'000);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  ASSERT_TRUE(status->has_value()) << "demo did not stop within 60 s of SIGINT\n" << Output();
  const std::string out = Output();
  EXPECT_EQ(cli::ExitCodeOf(**status), 130) << out;
  EXPECT_NE(out.find("interrupted"), std::string::npos) << out;
  EXPECT_EQ(out.find("verify: PASSED"), std::string::npos) << out;
  ExpectNothingLeft(out);
}

}  // namespace
}  // namespace owsync::tests
