// Logger: where owsync says what happened. An instance is passed to whoever logs (no global
// logger). The stderr implementation is spdlog-backed and thread-safe; CapturingLogger keeps
// lines in memory for tests.
#ifndef OWSYNC_UTIL_LOGGER_H_
#define OWSYNC_UTIL_LOGGER_H_

#include <fmt/format.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace owsync {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void Log(LogLevel level, std::string_view message) = 0;
  virtual bool Enabled(LogLevel level) const = 0;

  template <typename... Args>
  void Debug(fmt::format_string<Args...> f, Args&&... args) {
    Emit(LogLevel::kDebug, f, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void Info(fmt::format_string<Args...> f, Args&&... args) {
    Emit(LogLevel::kInfo, f, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void Warn(fmt::format_string<Args...> f, Args&&... args) {
    Emit(LogLevel::kWarn, f, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void Error(fmt::format_string<Args...> f, Args&&... args) {
    Emit(LogLevel::kError, f, std::forward<Args>(args)...);
  }

 private:
  template <typename... Args>
  void Emit(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
    if (Enabled(level)) Log(level, fmt::format(f, std::forward<Args>(args)...));
  }
};

// Lines like "2026-11-26 06:16:00.123 [info] capture[acme]: drained 10 changes" on stderr.
std::unique_ptr<Logger> NewStderrLogger(std::string_view component, LogLevel min_level);
// Parses "debug", "info", "warn", "error"; kInfo for anything else.
LogLevel ParseLogLevel(std::string_view name);

// Keeps every line in memory (thread-safe); for tests.
class CapturingLogger : public Logger {
 public:
  void Log(LogLevel level, std::string_view message) override;
  bool Enabled(LogLevel) const override { return true; }
  std::vector<std::string> Lines() const;
  bool Contains(std::string_view needle) const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

}  // namespace owsync

#endif  // OWSYNC_UTIL_LOGGER_H_
