#include "shipper/pg_error.h"

#include <cctype>
#include <string>

namespace owsync::shipper {
namespace {

constexpr std::string_view kTag = "[SQLSTATE ";

bool IsWellFormed(std::string_view s) {
  if (s.size() != 5) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c)) &&
        !std::isupper(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

}  // namespace

PgErrorClass ClassifySqlState(std::string_view s) {
  if (!IsWellFormed(s)) return {StatusCode::kInternal, false};
  const std::string_view cls = s.substr(0, 2);
  if (cls == "08" || s == "57P01" || s == "57P02" || s == "57P03" || cls == "53" ||
      s == sqlstate::kQueryCanceled) {
    return {StatusCode::kUnavailable, true};
  }
  if (s == sqlstate::kSerializationFailure || s == sqlstate::kDeadlockDetected) {
    return {StatusCode::kAborted, true};
  }
  if (s == sqlstate::kLockNotAvailable) return {StatusCode::kBusy, true};
  // Errors one row's values can cause: isolated to that row (a dead letter), never a stop.
  if (cls == "22" || cls == "23" || s == sqlstate::kCardinalityViolation ||
      s == sqlstate::kProgramLimitExceeded) {
    return {StatusCode::kDataError, false};
  }
  if (s == sqlstate::kInsufficientPrivilege) return {StatusCode::kPermissionDenied, false};
  return {StatusCode::kInternal, false};
}

Status PgServerError(std::string_view sqlstate, std::string_view message) {
  const PgErrorClass c = ClassifySqlState(sqlstate);
  std::string msg(kTag);
  msg += IsWellFormed(sqlstate) ? sqlstate : std::string_view("?????");
  msg += "] ";
  msg += message;
  return Status(c.code, msg, c.retryable);
}

Status PgConnectionError(std::string_view message) { return Status::Unavailable(message); }

Status PgConnectFailure(std::string_view message) {
  auto has = [&](std::string_view needle) { return message.find(needle) != std::string::npos; };
  if (has("password authentication failed") || has("no pg_hba.conf entry") ||
      has("authentication failed") || has("permission denied") || has("no password supplied")) {
    return Status::PermissionDenied(message);
  }
  if ((has("role \"") || has("database \"")) && has("does not exist")) {
    return Status::NotFound(message);
  }
  return Status::Unavailable(message);
}

std::string SqlStateOf(const Status& status) {
  const std::string& m = status.message();
  for (size_t pos = m.find(kTag); pos != std::string::npos; pos = m.find(kTag, pos + 1)) {
    const size_t start = pos + kTag.size();
    if (start + 6 <= m.size() && m[start + 5] == ']') {
      std::string_view code(m.data() + start, 5);
      if (IsWellFormed(code)) return std::string(code);
    }
  }
  return "";
}

}  // namespace owsync::shipper
