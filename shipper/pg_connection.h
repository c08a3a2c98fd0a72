// PgConnection: one libpq connection whose every call has a deadline. Move-only; owns the
// PGconn (closed on destruction). Not thread-safe: one thread uses a connection at a time.
//
// Calls never block past their deadline (plus a short cancel grace): queries are sent with
// PQsendQuery*/PQflush in non-blocking mode and results awaited with poll() on PQsocket and
// PQconsumeInput. When a deadline passes the statement is cancelled (PQcancel, sent from a
// helper thread because libpq 15's PQcancel blocks until the server answers, forever when a
// pooler in between is frozen); if the server confirms within `cancel_grace_micros` the
// connection stays usable, otherwise it is closed and is_broken() turns true. So a call never
// takes longer than its deadline plus the grace. Connections get TCP keepalives and
// tcp_user_timeout so a dead peer is noticed even between calls.
//
// Errors: server errors are classified by shipper/pg_error.h and carry their SQLSTATE; a lost
// connection or a socket error is Unavailable (retryable) and leaves the connection broken.
// A cancel that could not be delivered in time leaves its helper thread blocked until the
// server or the network answers (it owns nothing of the connection).
#ifndef OWSYNC_SHIPPER_PG_CONNECTION_H_
#define OWSYNC_SHIPPER_PG_CONNECTION_H_

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shipper/deadline.h"
#include "shipper/pg_result.h"
#include "util/clock.h"
#include "util/logger.h"
#include "util/result.h"

namespace owsync::shipper {

struct PgConnectOptions {
  // Used unless the URL sets them itself (the URL wins).
  int keepalives_idle_seconds = 10;
  int keepalives_interval_seconds = 5;
  int keepalives_count = 3;
  int tcp_user_timeout_millis = 30000;
  std::string application_name = "owsync";
  // How long to wait for the server to confirm a cancel after a deadline passed.
  int64_t cancel_grace_micros = 2'000'000;
  // Receives server notices at debug level; null drops them. Must outlive the connection.
  Logger* logger = nullptr;
};

class PgConnection {
 public:
  // Connects to `url` (URI or key=value conninfo) by `deadline`. `clock` measures the
  // deadlines of this connection (a real clock: the waits are real) and must outlive it.
  // Unavailable (retryable) when the server cannot be reached in time; PermissionDenied or
  // NotFound when it refuses the login, role or database.
  static Result<PgConnection> Connect(Clock* clock, const std::string& url, Deadline deadline,
                                      const PgConnectOptions& options = {});

  PgConnection(PgConnection&& other) noexcept;
  PgConnection& operator=(PgConnection&& other) noexcept;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  ~PgConnection();

  // Runs `sql` (one or more statements, simple protocol) and returns the last statement's
  // result, or the first error.
  Result<PgResult> Exec(std::string_view sql, Deadline deadline);
  // Runs one statement with $1..$n bound to text values (nullopt = NULL).
  Result<PgResult> ExecParams(std::string_view sql,
                              const std::vector<std::optional<std::string>>& params,
                              Deadline deadline);

  // COPY ... FROM STDIN. StartCopyIn sends `copy_sql` and waits until the server is in the
  // COPY IN state (errors: the server's, classified). PutCopyData queues bytes (non-blocking,
  // flushing with poll() when libpq's buffer is full; never blocks past the deadline: then it
  // cancels like Exec and the connection may be broken). EndCopyIn finishes and returns the
  // COPY's result (affected_rows() = rows copied) or the server's error (e.g. 22P02 for a bad
  // value, with SQLSTATE). AbortCopyIn ends it with an error message (PQputCopyEnd(errmsg)) and
  // returns the resulting status (the transaction is then aborted, as PostgreSQL does).
  //
  // Details: a server error raised mid-COPY (a bad value) is only reported by EndCopyIn; the
  // data put after it is discarded by the server. PutCopyData splits large data and keeps at
  // most ~1 MiB queued in libpq. A deadline passing inside PutCopyData or EndCopyIn cancels
  // the COPY; if the server confirms within the cancel grace the connection stays usable (the
  // call returns the cancel's 57014 error), otherwise it is closed. AbortCopyIn returns OK once
  // the server has ended the COPY with an error (its transaction is then aborted; ROLLBACK),
  // Unavailable when the connection was lost or closed. While a COPY is in progress, Exec and
  // ExecParams return FailedPrecondition.
  [[nodiscard]] Status StartCopyIn(std::string_view copy_sql, Deadline deadline);
  [[nodiscard]] Status PutCopyData(std::string_view data, Deadline deadline);
  Result<PgResult> EndCopyIn(Deadline deadline);
  [[nodiscard]] Status AbortCopyIn(std::string_view reason, Deadline deadline);
  bool in_copy() const { return in_copy_; }

  // True once the connection is lost or was closed after a deadline; only destruction and
  // reconnecting help then.
  bool is_broken() const;
  int backend_pid() const;
  // A server parameter reported at connect time ("server_version", "TimeZone", ...), or "".
  std::string ParameterStatus(const char* name) const;
  // Quoting done by libpq for this connection's encoding.
  Result<std::string> QuoteIdentifier(std::string_view ident) const;
  Result<std::string> QuoteLiteral(std::string_view literal) const;
  // The SCRAM-SHA-256 verifier of `password` for role `user`, computed locally (the clear
  // password never reaches the server or its logs).
  Result<std::string> ScramVerifier(std::string_view password, std::string_view user) const;

  // The raw handle, for protocol features built on top (COPY). Owned by this object.
  PGconn* raw() const { return conn_; }

 private:
  PgConnection(Clock* clock, PGconn* conn, const PgConnectOptions& options);
  Result<PgResult> AwaitResult(Deadline deadline);
  // Waits until the socket is readable (or writable when `write`), or the deadline passes
  // (false).
  Result<bool> WaitSocket(bool write, Deadline deadline);
  // After a deadline: cancels, drains within the grace, or closes the connection.
  Result<PgResult> CancelAfterDeadline(int64_t waited_micros);
  Result<PgResult> Drain(Deadline deadline, bool* timed_out);
  Status LostConnection(std::string_view what);
  void Close();
  // Sends libpq's queued output. False if the deadline passed first (output still queued).
  Result<bool> FlushOutput(Deadline deadline);
  // Waits for the result that puts the connection into COPY IN (true) or ends the statement
  // otherwise (false: *error says why). Sets *timed_out if the deadline passes.
  bool AwaitCopyIn(Deadline deadline, bool* timed_out, Status* error);
  // A deadline passed during a COPY (or after CopyDone/CopyFail was queued): cancels it, then
  // finishes it within the grace, or closes the connection.
  Result<PgResult> CancelCopyAfterDeadline(int64_t waited_micros);
  // Ends the COPY with CopyFail(`reason`) and collects the server's answer by `deadline`.
  Result<PgResult> FailCopy(std::string_view reason, Deadline deadline, bool* timed_out);

  Clock* clock_ = nullptr;
  PGconn* conn_ = nullptr;
  PgConnectOptions options_;
  bool in_copy_ = false;             // between StartCopyIn and EndCopyIn/AbortCopyIn
  size_t copy_unflushed_bytes_ = 0;  // put since libpq's buffer was last empty
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_PG_CONNECTION_H_
