#include "cli/owsync_app.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "util/fake_clock.h"
#include "util/mem_file_system.h"

namespace owsync::cli {
namespace {

class OwsyncAppTest : public ::testing::Test {
 protected:
  // Runs `owsync <args>`; the output CLI11 prints (help, version, usage errors) goes to out_.
  int Run(std::vector<std::string> args) {
    CliContext ctx;
    ctx.fs = &fs_;
    ctx.clock = &clock_;
    ctx.logger = &log_;
    ctx.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    args.insert(args.begin(), "owsync");
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    int code = RunOwsync(static_cast<int>(argv.size()), argv.data(), &ctx);
    out_ = ::testing::internal::GetCapturedStdout() + ::testing::internal::GetCapturedStderr();
    return code;
  }
  MemFileSystem fs_;
  FakeClock clock_;
  CapturingLogger log_;
  std::string out_;
};

TEST_F(OwsyncAppTest, HelpListsEverySubcommand) {
  EXPECT_EQ(Run({"--help"}), 0);
  for (const char* verb : {"demo", "db", "provision", "ship", "replay", "tenant", "status",
                           "trigger", "capture", "outbox", "verify", "workload", "testenv"}) {
    EXPECT_NE(out_.find("\n  " + std::string(verb) + " "), std::string::npos) << verb << out_;
  }
}

TEST_F(OwsyncAppTest, VersionPrintsTheVersion) {
  EXPECT_EQ(Run({"--version"}), 0);
  EXPECT_NE(out_.find("owsync 0.1.0"), std::string::npos) << out_;
}

TEST_F(OwsyncAppTest, NoSubcommandIsAUsageError) {
  EXPECT_NE(Run({}), 0);
  EXPECT_NE(out_.find("A subcommand is required"), std::string::npos) << out_;
}

TEST_F(OwsyncAppTest, UnknownFlagIsAUsageError) {
  EXPECT_NE(Run({"status", "--no-such-flag"}), 0);
  EXPECT_NE(out_.find("--no-such-flag"), std::string::npos) << out_;
}

}  // namespace
}  // namespace owsync::cli
