#include "shipper/pg_connection.h"

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "shipper/pg_connection_internal.h"
#include "shipper/pg_error.h"

namespace owsync::shipper {
namespace pg_internal {

std::string Trimmed(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void ReceiveNotice(void* arg, const PGresult* res) {
  auto* logger = static_cast<Logger*>(arg);
  if (logger != nullptr) logger->Debug("postgres: {}", Trimmed(PQresultErrorMessage(res)));
}

// The Status of a failed result: classified by SQLSTATE when the server sent one.
Status ResultError(PGconn* conn, const PGresult* res) {
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  if (state == nullptr || primary == nullptr) {
    std::string msg = Trimmed(PQresultErrorMessage(res));
    if (msg.empty()) msg = Trimmed(PQerrorMessage(conn));
    if (PQstatus(conn) == CONNECTION_BAD) return PgConnectionError(msg);
    return Status::Internal(msg);
  }
  std::string msg = primary;
  if (const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL)) {
    msg += " (DETAIL: ";
    msg += detail;
    msg += ")";
  }
  if (const char* hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT)) {
    msg += " (HINT: ";
    msg += hint;
    msg += ")";
  }
  return PgServerError(state, msg);
}

int CeilMillis(int64_t micros) {
  const int64_t ms = (micros + 999) / 1000;
  return ms > 3'600'000 ? 3'600'000 : static_cast<int>(ms);
}

// Outcome of a cancel request, shared with the thread that sends it.
struct CancelRequest {
  std::atomic<bool> done{false};
  int sent = 0;
  char error[256] = {0};
};

// Sends a cancel request for `conn`'s running statement. PQcancel (libpq 15) blocks until the
// server closes the cancel connection, forever if the server or a pooler in between is frozen,
// so it runs on a detached thread; we wait for it at most `wait_micros`. True when the request
// was delivered in time; otherwise *error says why.
bool SendCancel(PGconn* conn, Clock* clock, int64_t wait_micros, std::string* error) {
  PGcancel* cancel = PQgetCancel(conn);
  if (cancel == nullptr) {
    *error = "no cancel handle";
    return false;
  }
  auto request = std::make_shared<CancelRequest>();
  std::thread([cancel, request]() {
    request->sent = PQcancel(cancel, request->error, sizeof(request->error));
    PQfreeCancel(cancel);
    request->done.store(true, std::memory_order_release);
  }).detach();
  const int64_t end = clock->MonotonicMicros() + wait_micros;
  while (!request->done.load(std::memory_order_acquire)) {
    if (clock->MonotonicMicros() >= end) {
      *error = "the server did not take the cancel request in time";
      return false;
    }
    clock->SleepForMicros(1000);
  }
  if (request->sent != 1) *error = Trimmed(request->error);
  return request->sent == 1;
}

}  // namespace pg_internal

using pg_internal::CeilMillis;
using pg_internal::ReceiveNotice;
using pg_internal::ResultError;
using pg_internal::SendCancel;
using pg_internal::Trimmed;

PgConnection::PgConnection(Clock* clock, PGconn* conn, const PgConnectOptions& options)
    : clock_(clock), conn_(conn), options_(options) {}

PgConnection::PgConnection(PgConnection&& other) noexcept
    : clock_(other.clock_),
      conn_(std::exchange(other.conn_, nullptr)),
      options_(std::move(other.options_)),
      in_copy_(std::exchange(other.in_copy_, false)),
      copy_unflushed_bytes_(std::exchange(other.copy_unflushed_bytes_, 0)) {}

PgConnection& PgConnection::operator=(PgConnection&& other) noexcept {
  if (this != &other) {
    Close();
    clock_ = other.clock_;
    conn_ = std::exchange(other.conn_, nullptr);
    options_ = std::move(other.options_);
    in_copy_ = std::exchange(other.in_copy_, false);
    copy_unflushed_bytes_ = std::exchange(other.copy_unflushed_bytes_, 0);
  }
  return *this;
}

PgConnection::~PgConnection() { Close(); }

void PgConnection::Close() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
  in_copy_ = false;
  copy_unflushed_bytes_ = 0;
}

Result<PgConnection> PgConnection::Connect(Clock* clock, const std::string& url, Deadline deadline,
                                           const PgConnectOptions& options) {
  const int64_t remaining = deadline.RemainingMicros(clock);
  const std::string connect_timeout =
      std::to_string(std::max<int64_t>(2, (remaining + 999999) / 1000000));
  const std::string idle = std::to_string(options.keepalives_idle_seconds);
  const std::string interval = std::to_string(options.keepalives_interval_seconds);
  const std::string count = std::to_string(options.keepalives_count);
  const std::string user_timeout = std::to_string(options.tcp_user_timeout_millis);
  // Entries before the expanded "dbname" (the URL) are defaults the URL may override; the one
  // after it is not: every value owsync sends and reads is UTF-8 (a server or role whose
  // client_encoding is another would convert text or refuse it).
  const char* keywords[] = {"connect_timeout",           "keepalives",
                            "keepalives_idle",           "keepalives_interval",
                            "keepalives_count",          "tcp_user_timeout",
                            "fallback_application_name", "dbname",
                            "client_encoding",           nullptr};
  const char* values[] = {connect_timeout.c_str(),
                          "1",
                          idle.c_str(),
                          interval.c_str(),
                          count.c_str(),
                          user_timeout.c_str(),
                          options.application_name.c_str(),
                          url.c_str(),
                          "UTF8",
                          nullptr};
  PGconn* raw = PQconnectStartParams(keywords, values, /*expand_dbname=*/1);
  if (raw == nullptr) return Status::Unavailable("PQconnectStartParams: out of memory");
  PgConnection conn(clock, raw, options);
  if (PQstatus(raw) == CONNECTION_BAD) {
    return PgConnectFailure("connecting to PostgreSQL: " + Trimmed(PQerrorMessage(raw)));
  }
  PostgresPollingStatusType poll_status = PGRES_POLLING_WRITING;
  while (poll_status != PGRES_POLLING_OK) {
    if (poll_status == PGRES_POLLING_FAILED) {
      return PgConnectFailure("connecting to PostgreSQL: " + Trimmed(PQerrorMessage(raw)));
    }
    OWSYNC_ASSIGN_OR_RETURN(bool ready,
                            conn.WaitSocket(poll_status == PGRES_POLLING_WRITING, deadline));
    if (!ready) {
      return Status::Unavailable("connecting to PostgreSQL: deadline of " +
                                 std::to_string(remaining / 1000) + " ms exceeded");
    }
    poll_status = PQconnectPoll(raw);
  }
  if (PQsetnonblocking(raw, 1) != 0) {
    return PgConnectionError("PQsetnonblocking: " + Trimmed(PQerrorMessage(raw)));
  }
  PQsetNoticeReceiver(raw, &ReceiveNotice, options.logger);
  return conn;
}

bool PgConnection::is_broken() const {
  return conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD;
}

int PgConnection::backend_pid() const { return conn_ ? PQbackendPID(conn_) : 0; }

std::string PgConnection::ParameterStatus(const char* name) const {
  const char* v = conn_ ? PQparameterStatus(conn_, name) : nullptr;
  return v ? v : "";
}

Result<std::string> PgConnection::QuoteIdentifier(std::string_view ident) const {
  if (conn_ == nullptr) return Status::Unavailable("connection is closed");
  char* q = PQescapeIdentifier(conn_, ident.data(), ident.size());
  if (q == nullptr) return Status::InvalidArgument(Trimmed(PQerrorMessage(conn_)));
  std::string out(q);
  PQfreemem(q);
  return out;
}

Result<std::string> PgConnection::QuoteLiteral(std::string_view literal) const {
  if (conn_ == nullptr) return Status::Unavailable("connection is closed");
  char* q = PQescapeLiteral(conn_, literal.data(), literal.size());
  if (q == nullptr) return Status::InvalidArgument(Trimmed(PQerrorMessage(conn_)));
  std::string out(q);
  PQfreemem(q);
  return out;
}

Result<std::string> PgConnection::ScramVerifier(std::string_view password,
                                                std::string_view user) const {
  if (conn_ == nullptr) return Status::Unavailable("connection is closed");
  const std::string pw(password), u(user);
  char* v = PQencryptPasswordConn(conn_, pw.c_str(), u.c_str(), "scram-sha-256");
  if (v == nullptr)
    return Status::Internal("PQencryptPasswordConn: " + Trimmed(PQerrorMessage(conn_)));
  std::string out(v);
  PQfreemem(v);
  return out;
}

Status PgConnection::LostConnection(std::string_view what) {
  std::string msg(what);
  if (conn_ != nullptr) msg += ": " + Trimmed(PQerrorMessage(conn_));
  Close();
  return PgConnectionError(msg);
}

Result<bool> PgConnection::WaitSocket(bool write, Deadline deadline) {
  const int fd = PQsocket(conn_);
  if (fd < 0) return PgConnectionError("PostgreSQL connection has no socket");
  while (true) {
    const int64_t remaining = deadline.RemainingMicros(clock_);
    if (remaining <= 0) return false;
    pollfd p{fd, static_cast<short>(write ? POLLOUT | POLLIN : POLLIN), 0};
    const int rc = ::poll(&p, 1, CeilMillis(remaining));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return ErrnoStatus("poll on PostgreSQL socket", errno);
  }
}

Result<PgResult> PgConnection::Exec(std::string_view sql, Deadline deadline) {
  if (is_broken()) return PgConnectionError("PostgreSQL connection is broken");
  if (in_copy_) return Status::FailedPrecondition("Exec during COPY FROM STDIN");
  const std::string q(sql);
  if (PQsendQuery(conn_, q.c_str()) != 1) return LostConnection("sending query");
  return AwaitResult(deadline);
}

Result<PgResult> PgConnection::ExecParams(std::string_view sql,
                                          const std::vector<std::optional<std::string>>& params,
                                          Deadline deadline) {
  if (is_broken()) return PgConnectionError("PostgreSQL connection is broken");
  if (in_copy_) return Status::FailedPrecondition("ExecParams during COPY FROM STDIN");
  const std::string q(sql);
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.has_value() ? p->c_str() : nullptr);
  if (PQsendQueryParams(conn_, q.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                        nullptr, nullptr, /*resultFormat=*/0) != 1) {
    return LostConnection("sending query");
  }
  return AwaitResult(deadline);
}

Result<PgResult> PgConnection::AwaitResult(Deadline deadline) {
  const int64_t started = clock_->MonotonicMicros();
  // Send everything (non-blocking mode may leave part of the query queued).
  while (true) {
    const int f = PQflush(conn_);
    if (f == 0) break;
    if (f < 0) return LostConnection("sending query");
    OWSYNC_ASSIGN_OR_RETURN(bool ready, WaitSocket(/*write=*/true, deadline));
    if (!ready) {
      // Half a message on the wire: the protocol cannot be resumed. Cancel and close.
      std::string ignored;
      SendCancel(conn_, clock_, options_.cancel_grace_micros, &ignored);
      Close();
      return PgConnectionError("sending query: deadline of " +
                               std::to_string((clock_->MonotonicMicros() - started) / 1000) +
                               " ms exceeded; connection closed");
    }
    if (PQconsumeInput(conn_) != 1) return LostConnection("reading result");
  }
  bool timed_out = false;
  Result<PgResult> result = Drain(deadline, &timed_out);
  if (!timed_out) return result;
  return CancelAfterDeadline(clock_->MonotonicMicros() - started);
}

// Collects results until PQgetResult says the command is complete. Returns the last result,
// or the first error. Sets *timed_out (and returns nothing useful) if the deadline passes.
Result<PgResult> PgConnection::Drain(Deadline deadline, bool* timed_out) {
  *timed_out = false;
  PgResult last;
  Status first_error;
  while (true) {
    while (PQisBusy(conn_) == 0) {
      PGresult* r = PQgetResult(conn_);
      if (r == nullptr) {
        if (!first_error.ok()) return first_error;
        if (!last.valid()) return Status::Internal("PostgreSQL returned no result");
        return last;
      }
      PgResult res(r);
      switch (res.status()) {
        case PGRES_FATAL_ERROR:
        case PGRES_BAD_RESPONSE:
        case PGRES_NONFATAL_ERROR:
          if (first_error.ok()) first_error = ResultError(conn_, res.get());
          break;
        case PGRES_COPY_IN:
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
          Close();
          return Status::Internal("COPY is not supported by PgConnection::Exec");
        default:
          last = std::move(res);
      }
      if (PQstatus(conn_) == CONNECTION_BAD) {
        Status s =
            first_error.ok() ? PgConnectionError(Trimmed(PQerrorMessage(conn_))) : first_error;
        return s;
      }
    }
    OWSYNC_ASSIGN_OR_RETURN(bool ready, WaitSocket(/*write=*/false, deadline));
    if (!ready) {
      *timed_out = true;
      return Status::Unavailable("deadline exceeded");
    }
    if (PQconsumeInput(conn_) != 1) return LostConnection("reading result");
  }
}

Result<PgResult> PgConnection::CancelAfterDeadline(int64_t waited_micros) {
  const std::string waited = std::to_string(waited_micros / 1000) + " ms";
  const Deadline grace = Deadline::After(clock_, options_.cancel_grace_micros);
  std::string error;
  if (!SendCancel(conn_, clock_, options_.cancel_grace_micros, &error)) {
    Close();
    return PgConnectionError("deadline exceeded after " + waited + "; cancel failed (" + error +
                             "); connection closed");
  }
  bool timed_out = false;
  Result<PgResult> result = Drain(grace, &timed_out);
  if (timed_out) {
    Close();
    return PgConnectionError("deadline exceeded after " + waited +
                             "; cancel not confirmed; connection closed");
  }
  // The statement may have completed just before the cancel arrived: then it succeeded.
  if (result.ok()) return result;
  return result.status().WithContext("deadline exceeded after " + waited);
}

}  // namespace owsync::shipper
