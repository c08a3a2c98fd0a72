// NewStderrLogger: a private spdlog::logger (never registered in spdlog's global registry) with
// a mutex-protected stderr sink. spdlog adds the timestamp; the level and component are put in
// the message here so the names match ParseLogLevel ("warn", not spdlog's "warning").
#include "util/logger.h"

#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace owsync {
namespace {

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

spdlog::level::level_enum ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

class StderrLogger final : public Logger {
 public:
  StderrLogger(std::string_view component, LogLevel min_level)
      : component_(component),
        min_level_(min_level),
        logger_(std::make_shared<spdlog::logger>(
            std::string(component), std::make_shared<spdlog::sinks::stderr_sink_mt>())) {
    logger_->set_pattern("%Y-%m-%d %H:%M:%S.%e %v");
    logger_->set_level(spdlog::level::trace);  // filtering is done by Enabled()
    logger_->flush_on(spdlog::level::trace);
  }

  void Log(LogLevel level, std::string_view message) override {
    if (!Enabled(level)) return;
    logger_->log(ToSpdlog(level), "[{}] {}: {}", LevelName(level), component_, message);
  }

  bool Enabled(LogLevel level) const override { return level >= min_level_; }

 private:
  const std::string component_;
  const LogLevel min_level_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace

std::unique_ptr<Logger> NewStderrLogger(std::string_view component, LogLevel min_level) {
  return std::make_unique<StderrLogger>(component, min_level);
}

LogLevel ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn" || name == "warning") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return LogLevel::kInfo;
}

void CapturingLogger::Log(LogLevel level, std::string_view message) {
  std::string line = "[";
  line += LevelName(level);
  line += "] ";
  line += message;
  std::lock_guard<std::mutex> lock(mu_);
  lines_.push_back(std::move(line));
}

std::vector<std::string> CapturingLogger::Lines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_;
}

bool CapturingLogger::Contains(std::string_view needle) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& line : lines_) {
    if (line.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace owsync
