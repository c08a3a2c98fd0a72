// PgConnection's COPY FROM STDIN (see pg_connection.h); split from pg_connection.cc.
#include <poll.h>

#include <string>

#include "shipper/pg_connection.h"
#include "shipper/pg_connection_internal.h"
#include "shipper/pg_error.h"

namespace owsync::shipper {

using pg_internal::ResultError;
using pg_internal::SendCancel;
using pg_internal::Trimmed;

namespace {
// Largest CopyData message we queue at once, and how much may wait in libpq's output buffer
// before PutCopyData flushes it to the socket (bounds libpq's memory whatever the data size).
constexpr size_t kCopyChunkBytes = size_t{1} << 20;
constexpr size_t kCopyFlushBytes = size_t{1} << 20;
}  // namespace

Result<bool> PgConnection::FlushOutput(Deadline deadline) {
  while (true) {
    const int f = PQflush(conn_);
    if (f == 0) return true;
    if (f < 0) return LostConnection("sending to PostgreSQL");
    OWSYNC_ASSIGN_OR_RETURN(bool ready, WaitSocket(/*write=*/true, deadline));
    if (!ready) return false;
    if (PQconsumeInput(conn_) != 1) return LostConnection("reading from PostgreSQL");
  }
}

bool PgConnection::AwaitCopyIn(Deadline deadline, bool* timed_out, Status* error) {
  *timed_out = false;
  while (true) {
    while (PQisBusy(conn_) == 0) {
      PGresult* r = PQgetResult(conn_);
      if (r == nullptr) {
        if (error->ok()) *error = Status::Internal("the statement did not start COPY FROM STDIN");
        return false;
      }
      PgResult res(r);
      switch (res.status()) {
        case PGRES_COPY_IN:
          return true;
        case PGRES_FATAL_ERROR:
        case PGRES_BAD_RESPONSE:
        case PGRES_NONFATAL_ERROR:
          if (error->ok()) *error = ResultError(conn_, res.get());
          break;
        case PGRES_COPY_OUT:
        case PGRES_COPY_BOTH:
          Close();
          *error = Status::Internal("the statement started a COPY other than FROM STDIN");
          return false;
        default:
          break;  // results of statements before the COPY
      }
      if (PQstatus(conn_) == CONNECTION_BAD) {
        if (error->ok()) *error = PgConnectionError(Trimmed(PQerrorMessage(conn_)));
        return false;
      }
    }
    Result<bool> ready = WaitSocket(/*write=*/false, deadline);
    if (!ready.ok()) {
      *error = ready.status();
      return false;
    }
    if (!*ready) {
      *timed_out = true;
      return false;
    }
    if (PQconsumeInput(conn_) != 1) {
      *error = LostConnection("reading result");
      return false;
    }
  }
}

Status PgConnection::StartCopyIn(std::string_view copy_sql, Deadline deadline) {
  if (is_broken()) return PgConnectionError("PostgreSQL connection is broken");
  if (in_copy_) return Status::FailedPrecondition("a COPY is already in progress");
  const std::string q(copy_sql);
  if (PQsendQuery(conn_, q.c_str()) != 1) return LostConnection("sending COPY");
  const int64_t started = clock_->MonotonicMicros();
  auto waited = [&] {
    return std::to_string((clock_->MonotonicMicros() - started) / 1000) + " ms";
  };
  OWSYNC_ASSIGN_OR_RETURN(bool flushed, FlushOutput(deadline));
  if (!flushed) {
    std::string ignored;
    SendCancel(conn_, clock_, options_.cancel_grace_micros, &ignored);
    Close();
    return PgConnectionError("sending COPY: deadline exceeded after " + waited() +
                             "; connection closed");
  }
  bool timed_out = false;
  Status error;
  if (AwaitCopyIn(deadline, &timed_out, &error)) {
    in_copy_ = true;
    copy_unflushed_bytes_ = 0;
    return Status::OK();
  }
  if (!timed_out) return error;
  // Deadline: cancel; if the server entered COPY IN meanwhile, fail the COPY ourselves.
  const std::string context = "COPY did not start: deadline exceeded after " + waited();
  const Deadline grace = Deadline::After(clock_, options_.cancel_grace_micros);
  std::string cancel_error;
  if (!SendCancel(conn_, clock_, options_.cancel_grace_micros, &cancel_error)) {
    Close();
    return PgConnectionError(context + "; cancel failed (" + cancel_error + "); connection closed");
  }
  if (AwaitCopyIn(grace, &timed_out, &error)) {
    in_copy_ = true;
    Result<PgResult> failed = FailCopy("deadline exceeded", grace, &timed_out);
    if (!timed_out) {
      return failed.ok() ? Status::Internal(context) : failed.status().WithContext(context);
    }
  }
  if (timed_out) {
    Close();
    return PgConnectionError(context + "; cancel not confirmed; connection closed");
  }
  return error.WithContext(context);
}

Status PgConnection::PutCopyData(std::string_view data, Deadline deadline) {
  if (is_broken()) return PgConnectionError("PostgreSQL connection is broken");
  if (!in_copy_) return Status::FailedPrecondition("PutCopyData without a COPY in progress");
  const int64_t started = clock_->MonotonicMicros();
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t n = std::min(kCopyChunkBytes, data.size() - pos);
    const int rc = PQputCopyData(conn_, data.data() + pos, static_cast<int>(n));
    if (rc < 0) return LostConnection("sending COPY data");
    bool flushed = true;
    if (rc == 0) {  // libpq's buffer is full (non-blocking mode): make room, then retry
      OWSYNC_ASSIGN_OR_RETURN(flushed, FlushOutput(deadline));
    } else {
      pos += n;
      copy_unflushed_bytes_ += n;
      if (copy_unflushed_bytes_ >= kCopyFlushBytes) {
        OWSYNC_ASSIGN_OR_RETURN(flushed, FlushOutput(deadline));
        if (flushed) copy_unflushed_bytes_ = 0;
      }
    }
    if (!flushed) {
      Result<PgResult> r = CancelCopyAfterDeadline(clock_->MonotonicMicros() - started);
      return r.ok() ? Status::Internal("COPY succeeded after its cancel") : r.status();
    }
  }
  return Status::OK();
}

Result<PgResult> PgConnection::FailCopy(std::string_view reason, Deadline deadline,
                                        bool* timed_out) {
  *timed_out = false;
  const std::string msg(reason);
  while (true) {
    const int rc = PQputCopyEnd(conn_, msg.c_str());
    if (rc == 1) break;
    if (rc < 0) return LostConnection("ending COPY");
    OWSYNC_ASSIGN_OR_RETURN(bool flushed, FlushOutput(deadline));
    if (!flushed) {
      *timed_out = true;
      return Status::Unavailable("deadline exceeded");
    }
  }
  in_copy_ = false;
  OWSYNC_ASSIGN_OR_RETURN(bool flushed, FlushOutput(deadline));
  if (!flushed) {
    *timed_out = true;
    return Status::Unavailable("deadline exceeded");
  }
  return Drain(deadline, timed_out);
}

Result<PgResult> PgConnection::EndCopyIn(Deadline deadline) {
  if (is_broken()) return PgConnectionError("PostgreSQL connection is broken");
  if (!in_copy_) return Status::FailedPrecondition("EndCopyIn without a COPY in progress");
  const int64_t started = clock_->MonotonicMicros();
  while (true) {
    const int rc = PQputCopyEnd(conn_, nullptr);
    if (rc == 1) break;
    if (rc < 0) return LostConnection("ending COPY");
    OWSYNC_ASSIGN_OR_RETURN(bool flushed, FlushOutput(deadline));
    if (!flushed) return CancelCopyAfterDeadline(clock_->MonotonicMicros() - started);
  }
  in_copy_ = false;
  copy_unflushed_bytes_ = 0;
  OWSYNC_ASSIGN_OR_RETURN(bool flushed, FlushOutput(deadline));
  if (!flushed) return CancelCopyAfterDeadline(clock_->MonotonicMicros() - started);
  bool timed_out = false;
  Result<PgResult> result = Drain(deadline, &timed_out);
  if (!timed_out) return result;
  return CancelAfterDeadline(clock_->MonotonicMicros() - started);
}

Status PgConnection::AbortCopyIn(std::string_view reason, Deadline deadline) {
  if (is_broken()) return PgConnectionError("PostgreSQL connection is broken");
  if (!in_copy_) return Status::FailedPrecondition("AbortCopyIn without a COPY in progress");
  const int64_t started = clock_->MonotonicMicros();
  bool timed_out = false;
  Result<PgResult> result = FailCopy(reason, deadline, &timed_out);
  if (timed_out) result = CancelCopyAfterDeadline(clock_->MonotonicMicros() - started);
  if (result.ok()) return Status::Internal("PostgreSQL accepted an aborted COPY");
  // The server's error (ours, or one it raised before): the COPY is over, the connection fine.
  if (!SqlStateOf(result.status()).empty() && !is_broken()) return Status::OK();
  return result.status();
}

Result<PgResult> PgConnection::CancelCopyAfterDeadline(int64_t waited_micros) {
  const std::string context =
      "COPY: deadline exceeded after " + std::to_string(waited_micros / 1000) + " ms";
  const Deadline grace = Deadline::After(clock_, options_.cancel_grace_micros);
  std::string error;
  if (!SendCancel(conn_, clock_, options_.cancel_grace_micros, &error)) {
    Close();
    return PgConnectionError(context + "; cancel failed (" + error + "); connection closed");
  }
  // The cancelled server discards the rest of the COPY data: send it, end the COPY, collect.
  bool timed_out = false;
  Result<PgResult> result = Status::Unavailable("deadline exceeded");
  Result<bool> flushed = FlushOutput(grace);
  if (!flushed.ok()) return flushed.status().WithContext(context);
  if (!*flushed) {
    timed_out = true;
  } else if (in_copy_) {
    result = FailCopy("deadline exceeded", grace, &timed_out);
  } else {
    result = Drain(grace, &timed_out);
  }
  if (timed_out) {
    Close();
    return PgConnectionError(context + "; cancel not confirmed; connection closed");
  }
  if (result.ok()) return result;
  return result.status().WithContext(context);
}

}  // namespace owsync::shipper
