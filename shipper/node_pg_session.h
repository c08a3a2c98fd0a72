// NodePgSession: the one PostgreSQL connection a node's services share (the heartbeat, the
// HTTP API's reads, the manual-sync job tracker), as the host's runtime role. Calls are
// serialised; the connection is made on first use and again after it broke, so a PostgreSQL
// outage costs each call at most the connect deadline and the services recover by themselves.
// Thread-safe. Owns its connection.
#ifndef OWSYNC_SHIPPER_NODE_PG_SESSION_H_
#define OWSYNC_SHIPPER_NODE_PG_SESSION_H_

#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "shipper/deadline.h"
#include "shipper/pg_connection.h"
#include "util/clock.h"
#include "util/logger.h"
#include "util/result.h"

namespace owsync::shipper {

class NodePgSession {
 public:
  static constexpr int64_t kConnectMicros = 5'000'000;
  static constexpr int64_t kStatementMicros = 5'000'000;

  // `clock` and `logger` must outlive the session. `application_name` names its backend.
  NodePgSession(Clock* clock, Logger* logger, std::string url, std::string application_name)
      : clock_(clock),
        logger_(logger),
        url_(std::move(url)),
        application_name_(std::move(application_name)) {}

  // Runs `fn` on the connection (connected first when needed) under the session's lock. The
  // connection's errors (Unavailable when PostgreSQL cannot be reached) and `fn`'s are
  // returned as they are; a connection left broken is dropped.
  template <typename T>
  Result<T> Run(const std::function<Result<T>(PgConnection*)>& fn) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!conn_.has_value() || conn_->is_broken()) {
      conn_.reset();
      PgConnectOptions o;
      o.application_name = application_name_;
      o.logger = logger_;
      Result<PgConnection> c =
          PgConnection::Connect(clock_, url_, Deadline::After(clock_, kConnectMicros), o);
      if (!c.ok()) return c.status();
      conn_.emplace(std::move(c).value());
    }
    Result<T> r = fn(&*conn_);
    if (conn_->is_broken()) conn_.reset();
    return r;
  }

  // A deadline for one statement of a call.
  Deadline StatementDeadline() const { return Deadline::After(clock_, kStatementMicros); }
  Clock* clock() const { return clock_; }

 private:
  Clock* clock_;
  Logger* logger_;
  std::string url_;
  std::string application_name_;
  std::mutex mu_;
  std::optional<PgConnection> conn_;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_NODE_PG_SESSION_H_
