// The one place that turns PostgreSQL errors into owsync Statuses. Every error that came from
// the server carries its SQLSTATE inside the Status message as "[SQLSTATE 42501] ..." (so it
// survives WithContext and logging); SqlStateOf() gets it back. Classification:
//   class 08, 57P01/57P02/57P03, class 53 (resources)  -> Unavailable, retryable
//   57014 query_canceled (deadline or statement_timeout) -> Unavailable, retryable
//   40001 serialization_failure, 40P01 deadlock          -> Aborted, retryable
//   55P03 lock_not_available (lock_timeout)              -> Busy, retryable
//   class 22 (data exception), class 23 (constraint),
//   21000 cardinality_violation (one key twice in an upsert),
//   54000 program_limit_exceeded (an index row too large) -> DataError (one row's values:
//                                                            isolated into a dead letter)
//   42501 insufficient_privilege                          -> PermissionDenied
//   anything else                                         -> Internal, not retryable
#ifndef OWSYNC_SHIPPER_PG_ERROR_H_
#define OWSYNC_SHIPPER_PG_ERROR_H_

#include <string>
#include <string_view>

#include "util/status.h"

namespace owsync::shipper {

// SQLSTATE values owsync names in code.
namespace sqlstate {
inline constexpr std::string_view kInsufficientPrivilege = "42501";
inline constexpr std::string_view kUndefinedTable = "42P01";
inline constexpr std::string_view kSerializationFailure = "40001";
inline constexpr std::string_view kDeadlockDetected = "40P01";
inline constexpr std::string_view kLockNotAvailable = "55P03";
inline constexpr std::string_view kQueryCanceled = "57014";
inline constexpr std::string_view kAdminShutdown = "57P01";
inline constexpr std::string_view kUniqueViolation = "23505";
inline constexpr std::string_view kCheckViolation = "23514";
inline constexpr std::string_view kCardinalityViolation = "21000";
inline constexpr std::string_view kProgramLimitExceeded = "54000";
}  // namespace sqlstate

struct PgErrorClass {
  StatusCode code;
  bool retryable;
};

// How owsync treats an error with this SQLSTATE (see the table above). A malformed or empty
// SQLSTATE is Internal, not retryable.
PgErrorClass ClassifySqlState(std::string_view sqlstate);

// A Status for a server error: classified code and retryable bit, message
// "[SQLSTATE <sqlstate>] <message>".
Status PgServerError(std::string_view sqlstate, std::string_view message);

// A Status for a failure on the client side with no SQLSTATE (connection refused or lost,
// socket error): Unavailable, retryable.
Status PgConnectionError(std::string_view message);

// A Status for a failed connection attempt. libpq 15 does not expose the SQLSTATE of a login
// failure, so its (C-locale) message is read: a refused or missing password or pg_hba entry is
// PermissionDenied, a missing role or database NotFound (neither retryable); anything else
// (refused, timed out, server starting up or shutting down) Unavailable, retryable.
Status PgConnectFailure(std::string_view message);

// The SQLSTATE carried by `status` (the first "[SQLSTATE xxxxx]" in its message), or "" when
// it carries none.
std::string SqlStateOf(const Status& status);

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_PG_ERROR_H_
