// Helpers shared by the files that implement PgConnection (pg_connection.cc,
// pg_connection_copy.cc). Not part of the interface: include only from those files.
#ifndef OWSYNC_SHIPPER_PG_CONNECTION_INTERNAL_H_
#define OWSYNC_SHIPPER_PG_CONNECTION_INTERNAL_H_

#include <libpq-fe.h>

#include <cstdint>
#include <string>

#include "util/clock.h"
#include "util/status.h"

namespace owsync::shipper::pg_internal {

// `msg` without trailing newlines and spaces ("" for null).
std::string Trimmed(const char* msg);
// libpq notice receiver: logs at debug level to the Logger* in `arg` (may be null).
void ReceiveNotice(void* arg, const PGresult* res);
// The Status of a failed result: classified by SQLSTATE when the server sent one.
Status ResultError(PGconn* conn, const PGresult* res);
// Microseconds rounded up to milliseconds, capped at an hour (for poll()).
int CeilMillis(int64_t micros);
// Sends a cancel for `conn`'s running statement from a detached thread (PQcancel can block
// forever against a frozen pooler), waiting at most `wait_micros`. True when delivered in
// time; otherwise *error says why.
bool SendCancel(PGconn* conn, Clock* clock, int64_t wait_micros, std::string* error);

}  // namespace owsync::shipper::pg_internal

#endif  // OWSYNC_SHIPPER_PG_CONNECTION_INTERNAL_H_
