#include "util/logger.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace owsync {
namespace {

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(LoggerTest, ParseLogLevel) {
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("info"), LogLevel::kInfo);
  EXPECT_EQ(ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("error"), LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("bogus"), LogLevel::kInfo);
  EXPECT_EQ(ParseLogLevel(""), LogLevel::kInfo);
}

TEST(LoggerTest, StderrLineFormat) {
  auto logger = NewStderrLogger("capture[acme]", LogLevel::kDebug);
  testing::internal::CaptureStderr();
  logger->Info("drained {} changes", 10);
  logger->Warn("slow");
  logger->Error("failed: {}", "disk");
  logger->Debug("detail");
  const std::vector<std::string> lines = SplitLines(testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), 4u);
  const std::regex stamp(R"(^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} )");
  for (const auto& line : lines) EXPECT_TRUE(std::regex_search(line, stamp)) << line;
  EXPECT_EQ(lines[0].substr(24), "[info] capture[acme]: drained 10 changes");
  EXPECT_EQ(lines[1].substr(24), "[warn] capture[acme]: slow");
  EXPECT_EQ(lines[2].substr(24), "[error] capture[acme]: failed: disk");
  EXPECT_EQ(lines[3].substr(24), "[debug] capture[acme]: detail");
}

TEST(LoggerTest, StderrLoggerDropsLinesBelowItsLevel) {
  auto logger = NewStderrLogger("ship", LogLevel::kWarn);
  EXPECT_FALSE(logger->Enabled(LogLevel::kDebug));
  EXPECT_FALSE(logger->Enabled(LogLevel::kInfo));
  EXPECT_TRUE(logger->Enabled(LogLevel::kWarn));
  EXPECT_TRUE(logger->Enabled(LogLevel::kError));
  testing::internal::CaptureStderr();
  logger->Debug("no");
  logger->Info("no");
  logger->Warn("yes");
  logger->Log(LogLevel::kInfo, "direct no");
  const std::vector<std::string> lines = SplitLines(testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], testing::EndsWith("[warn] ship: yes"));
}

TEST(LoggerTest, TwoStderrLoggersWithTheSameComponentCoexist) {
  // No global registry: the same name twice must not clash.
  auto a = NewStderrLogger("same", LogLevel::kInfo);
  auto b = NewStderrLogger("same", LogLevel::kInfo);
  testing::internal::CaptureStderr();
  a->Info("from a");
  b->Info("from b");
  const std::vector<std::string> lines = SplitLines(testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), 2u);
}

TEST(LoggerTest, ConcurrentStderrLinesAreNeverInterleaved) {
  auto logger = NewStderrLogger("mt", LogLevel::kInfo);
  constexpr int kThreads = 4;
  constexpr int kLines = 200;
  testing::internal::CaptureStderr();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&logger, t] {
      for (int i = 0; i < kLines; ++i) logger->Info("thread {} line {} {}", t, i, "payload");
    });
  }
  for (auto& th : threads) th.join();
  const std::vector<std::string> lines = SplitLines(testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLines));
  const std::regex whole(R"(^\S+ \S+ \[info\] mt: thread \d line \d+ payload$)");
  for (const auto& line : lines) ASSERT_TRUE(std::regex_match(line, whole)) << line;
}

TEST(LoggerTest, CapturingLoggerKeepsEveryLine) {
  CapturingLogger logger;
  logger.Debug("d {}", 1);
  logger.Info("hello {}", "world");
  logger.Error("bad");
  EXPECT_EQ(logger.Lines(),
            (std::vector<std::string>{"[debug] d 1", "[info] hello world", "[error] bad"}));
  EXPECT_TRUE(logger.Contains("hello world"));
  EXPECT_TRUE(logger.Contains("[error]"));
  EXPECT_FALSE(logger.Contains("absent"));
}

TEST(LoggerTest, CapturingLoggerIsThreadSafe) {
  CapturingLogger logger;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&logger] {
      for (int i = 0; i < 500; ++i) logger.Info("line {}", i);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(logger.Lines().size(), 2000u);
}

}  // namespace
}  // namespace owsync
