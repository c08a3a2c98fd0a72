// Status: the outcome of a fallible operation. OK, or an error code with a message.
// Errors may be marked retryable (a transient condition: connection loss, a busy database,
// a serialization failure), which callers use to decide between backoff-and-retry and stop.
// Status never throws; copy is cheap for OK.
#ifndef OWSYNC_UTIL_STATUS_H_
#define OWSYNC_UTIL_STATUS_H_

#include <memory>
#include <string>
#include <string_view>

namespace owsync {

enum class StatusCode : int {
  kOk = 0,
  kNotFound,
  kCorruption,       // bytes on disk or on the wire are not what the format says
  kInvalidArgument,  // caller or operator passed something unusable
  kIOError,          // an operating-system call failed
  kNoSpace,          // disk full (ENOSPC/EDQUOT)
  kNotSupported,
  kAlreadyExists,
  kFailedPrecondition,  // the system is not in a state where this can run (e.g. id mismatch)
  kUnavailable,         // a service cannot be reached right now
  kBusy,                // a lock or resource is held by someone else
  kPermissionDenied,
  kDataError,  // a value does not fit where it must go
  kAborted,    // the operation was cancelled or lost a race (e.g. fenced off)
  kInternal,   // a bug or an unexpected answer
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string_view message, bool retryable = false);

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return {StatusCode::kNotFound, msg}; }
  static Status Corruption(std::string_view msg) { return {StatusCode::kCorruption, msg}; }
  static Status InvalidArgument(std::string_view msg) {
    return {StatusCode::kInvalidArgument, msg};
  }
  static Status IOError(std::string_view msg) { return {StatusCode::kIOError, msg}; }
  static Status NoSpace(std::string_view msg) { return {StatusCode::kNoSpace, msg, true}; }
  static Status NotSupported(std::string_view msg) { return {StatusCode::kNotSupported, msg}; }
  static Status AlreadyExists(std::string_view msg) { return {StatusCode::kAlreadyExists, msg}; }
  static Status FailedPrecondition(std::string_view msg) {
    return {StatusCode::kFailedPrecondition, msg};
  }
  static Status Unavailable(std::string_view msg) { return {StatusCode::kUnavailable, msg, true}; }
  static Status Busy(std::string_view msg) { return {StatusCode::kBusy, msg, true}; }
  static Status PermissionDenied(std::string_view msg) {
    return {StatusCode::kPermissionDenied, msg};
  }
  static Status DataError(std::string_view msg) { return {StatusCode::kDataError, msg}; }
  static Status Aborted(std::string_view msg) { return {StatusCode::kAborted, msg}; }
  static Status Internal(std::string_view msg) { return {StatusCode::kInternal, msg}; }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  bool retryable() const { return rep_ && rep_->retryable; }
  const std::string& message() const;

  bool IsNotFound() const { return code() == StatusCode::kNotFound; }
  bool IsCorruption() const { return code() == StatusCode::kCorruption; }
  bool IsNoSpace() const { return code() == StatusCode::kNoSpace; }

  // "Corruption: <message>", or "OK".
  std::string ToString() const;
  // The same error with "context: " put before its message; OK stays OK.
  Status WithContext(std::string_view context) const;
  // The same error with the retryable bit set as given.
  Status WithRetryable(bool retryable) const;

  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

 private:
  struct Rep {
    StatusCode code;
    bool retryable;
    std::string message;
  };
  std::unique_ptr<Rep> rep_;
};

// Status from an errno value of a failed system call on `context` (a path, usually).
Status ErrnoStatus(std::string_view context, int err);

}  // namespace owsync

#define OWSYNC_CONCAT_INNER_(a, b) a##b
#define OWSYNC_CONCAT_(a, b) OWSYNC_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define OWSYNC_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::owsync::Status owsync_status_ = (expr);        \
    if (!owsync_status_.ok()) return owsync_status_; \
  } while (0)

#endif  // OWSYNC_UTIL_STATUS_H_
