#include "shipper/lease.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <utility>

#include "shipper/pg_error.h"

namespace owsync::shipper {
namespace {

// One atomic statement. `cur` is the row as the statement's snapshot sees it; `upd` takes the
// row when it is ours (renewal: same epoch, unless our lease already expired), expired at the
// server, or when the holder's lock session is gone (fast path: lock_pid recorded, but no
// granted advisory lock of that backend in pg_locks); `ins` creates it when missing (a racing
// insert loses quietly: DO NOTHING). Concurrent updates serialize on the row lock and re-check
// the WHERE clause (the pg_locks subquery included) against the newest row version, so only
// one of them can take the row. nextval() is evaluated only on acquisition (CASE evaluates
// lazily; the INSERT's SELECT yields no row otherwise).
// $1 cluster, $2 node id, $3 lease length in microseconds, $4 our lock backend pid or ''.
#define OWSYNC_LOCK_GONE(row)                                                            \
  "(" row                                                                                \
  ".lock_pid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_locks k "           \
  "WHERE k.locktype = 'advisory' AND k.granted AND k.pid = " row                         \
  ".lock_pid AND k.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = "  \
  "current_database()) AND k.classid = 28535::oid AND k.objid = (hashtext('owsync:' || " \
  "$1::text) & 2147483647)::oid AND k.objsubid = 2))"
constexpr const char* kAcquireSql =
    "WITH cur AS ("
    "  SELECT leader_id, epoch, lease_expires_at, lock_pid, " OWSYNC_LOCK_GONE("c") " AS gone"
    "    FROM sync_metadata.leader_election c WHERE cluster_name = $1::text),"
    R"sql(
upd AS (
  UPDATE sync_metadata.leader_election l SET
    leader_id = $2::text,
    leader_host_id = sync_metadata.host_id_for_role(current_user),
    epoch = CASE WHEN l.leader_id = $2::text AND l.lease_expires_at > now() THEN l.epoch
                 ELSE nextval('sync_metadata.leader_epoch_seq') END,
    acquired_at = CASE WHEN l.leader_id = $2::text AND l.lease_expires_at > now()
                       THEN l.acquired_at ELSE LOCALTIMESTAMP END,
    heartbeat_count = CASE WHEN l.leader_id = $2::text AND l.lease_expires_at > now()
                           THEN coalesce(l.heartbeat_count, 0) + 1 ELSE 0 END,
    lease_expires_at = now() + $3::bigint * interval '1 microsecond',
    expires_at = LOCALTIMESTAMP + $3::bigint * interval '1 microsecond',
    lock_pid = NULLIF($4::text, '')::integer
  WHERE l.cluster_name = $1::text
    AND (l.leader_id = $2::text OR l.lease_expires_at <= now() OR )sql" OWSYNC_LOCK_GONE("l") R"sql()
  RETURNING l.epoch, l.lease_expires_at),
ins AS (
  INSERT INTO sync_metadata.leader_election AS l (cluster_name, leader_id, leader_host_id,
      epoch, acquired_at, expires_at, heartbeat_count, lease_expires_at, lock_pid)
  SELECT $1::text, $2::text, sync_metadata.host_id_for_role(current_user),
         nextval('sync_metadata.leader_epoch_seq'), LOCALTIMESTAMP,
         LOCALTIMESTAMP + $3::bigint * interval '1 microsecond', 0,
         now() + $3::bigint * interval '1 microsecond', NULLIF($4::text, '')::integer
   WHERE NOT EXISTS (SELECT 1 FROM cur)
  ON CONFLICT (cluster_name) DO NOTHING
  RETURNING l.epoch, l.lease_expires_at),
res AS (
  SELECT true AS held, $2::text AS leader_id, epoch, lease_expires_at,
         NULLIF($4::text, '')::integer AS lock_pid FROM upd
  UNION ALL SELECT true, $2::text, epoch, lease_expires_at, NULLIF($4::text, '')::integer
    FROM ins
  UNION ALL SELECT false, leader_id::text, epoch, lease_expires_at, lock_pid FROM cur
   WHERE NOT EXISTS (SELECT 1 FROM upd))
SELECT held, leader_id, epoch,
       (extract(epoch FROM lease_expires_at) * 1000000)::bigint,
       (extract(epoch FROM now()) * 1000000)::bigint,
       (SELECT leader_id FROM cur), (SELECT epoch FROM cur),
       (SELECT lease_expires_at <= now() FROM cur),
       (SELECT gone FROM cur), (SELECT lock_pid FROM cur),
       (SELECT (extract(epoch FROM lease_expires_at - now()) * 1000)::bigint FROM cur),
       COALESCE(lock_pid, 0)
  FROM res
)sql";
#undef OWSYNC_LOCK_GONE

// Fast path: the cluster's advisory lock (two int4 keys: 28535 = "ow", and the cluster's hash;
// pg_locks shows them as classid, objid with objsubid 2), taken without waiting.
constexpr const char* kLockSql =
    "SELECT pg_try_advisory_lock(28535, hashtext('owsync:' || $1::text) & 2147483647), "
    "pg_backend_pid()";

// Ends our lease at once (planned stop). expires_at must stay after acquired_at (CHECK).
constexpr const char* kReleaseSql = R"sql(
UPDATE sync_metadata.leader_election
   SET lease_expires_at = now(),
       expires_at = GREATEST(LOCALTIMESTAMP, acquired_at + interval '1 microsecond')
 WHERE cluster_name = $1::text AND leader_id = $2::text AND lease_expires_at > now()
RETURNING epoch
)sql";

constexpr int64_t kPollMicros = 100'000;  // longest real sleep between clock checks

int64_t ToInt(std::string_view s) { return std::strtoll(std::string(s).c_str(), nullptr, 10); }

}  // namespace

std::string LeaseErrorHint(const Status& s, const std::string& cluster) {
  const std::string state = SqlStateOf(s);
  if (state == sqlstate::kInsufficientPrivilege) {
    return "this host's role may not hold the lease of cluster '" + cluster +
           "': CLUSTER_NAME must be the cluster the host was registered in (`owsync db add-host "
           "HOST --cluster " +
           cluster + "` registers it there); `owsync db check` shows what the role may do";
  }
  if (state == sqlstate::kUndefinedTable || state == "3F000" || state == "42883") {
    return "sync_metadata is missing or older than this owsync: run `owsync db init` as the "
           "administrator";
  }
  if (s.code() == StatusCode::kPermissionDenied) {
    return "PostgreSQL refused the login: check DATABASE_URL or DATABASE_URL_FILE (the host "
           "role's password is the one `owsync db add-host --password-file` wrote)";
  }
  if (s.code() == StatusCode::kNotFound) {
    return "the role or the database DATABASE_URL names does not exist";
  }
  return "the error does not go away by retrying";
}

Lease::Lease(Clock* clock, Logger* logger, std::string url, LeaseOptions options)
    : clock_(clock), logger_(logger), url_(std::move(url)), options_(std::move(options)) {
  if (options_.renew_every_micros <= 0) options_.renew_every_micros = options_.lease_micros / 3;
  if (options_.safety_margin_micros <= 0) {
    options_.safety_margin_micros = options_.lease_micros / 5;
  }
}

Lease::~Lease() { Stop(); }

std::string Lease::MakeNodeId(const std::string& host, const std::string& role) {
  std::random_device rd;
  const uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  std::string tail = fmt::format(":{}:{}:{:016x}", role, ::getpid(), r);
  if (tail.size() > 80) tail = fmt::format(":{}:{:016x}", ::getpid(), r);
  return host.substr(0, 100 - tail.size()) + tail;
}

Status Lease::Validate(const LeaseOptions& o) {
  auto bad = [](const char* what, int64_t v, const char* rule) {
    return Status::InvalidArgument(fmt::format("lease option {}={} us: {}", what, v, rule));
  };
  if (o.cluster.empty()) return Status::InvalidArgument("lease: empty cluster name");
  if (o.node_id.empty() || o.node_id.size() > 100) {
    return Status::InvalidArgument("lease: node id must be 1..100 bytes");
  }
  if (o.lease_micros < 10'000) return bad("lease", o.lease_micros, "must be at least 10 ms");
  const int64_t renew = o.renew_every_micros > 0 ? o.renew_every_micros : o.lease_micros / 3;
  const int64_t margin = o.safety_margin_micros > 0 ? o.safety_margin_micros : o.lease_micros / 5;
  if (margin < o.lease_micros / 5) {
    return bad("safety margin", margin, "must be at least a fifth of the lease");
  }
  if (margin >= o.lease_micros) return bad("safety margin", margin, "must be below the lease");
  if (renew >= o.lease_micros - margin) {
    return bad("renew interval", renew, "must be below the lease minus the safety margin");
  }
  if (o.retry_micros <= 0) return bad("retry", o.retry_micros, "must be positive");
  if (o.call_timeout_micros <= 0) return bad("call timeout", o.call_timeout_micros, "positive");
  return Status::OK();
}

int64_t Lease::epoch() const {
  // Read epoch, deadline, epoch again: a concurrent change of epoch (which always passes
  // through 0) is seen and reported as not held rather than pairing an epoch with another
  // grant's deadline.
  const int64_t e = epoch_.load();
  if (e == 0) return 0;
  const int64_t until = held_until_.load();
  if (epoch_.load() != e) return 0;
  return clock_->MonotonicMicros() < until ? e : 0;
}

bool Lease::IsHeld() const { return epoch() != 0; }

LeaseObservation Lease::last_observed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return observed_;
}

Deadline Lease::CallDeadline() {
  int64_t budget = options_.call_timeout_micros;
  if (epoch_.load() != 0) {
    // While held, no call outlives the hold: a renewal stuck past it is cancelled, so the
    // thread reports the step-down (log, on_change) on time instead of waiting on the wire.
    const int64_t left = held_until_.load() - clock_->MonotonicMicros();
    if (left > 0) budget = std::min(budget, left);
  }
  return Deadline::After(clock_, budget);
}

Result<PgConnection*> Lease::Connection(Deadline deadline) {
  if (conn_.has_value() && !conn_->is_broken()) return &*conn_;
  conn_.reset();
  PgConnectOptions o;
  o.application_name = "owsync-lease";
  o.cancel_grace_micros = std::min<int64_t>(500'000, options_.safety_margin_micros / 2);
  o.logger = logger_;
  OWSYNC_ASSIGN_OR_RETURN(PgConnection c, PgConnection::Connect(clock_, url_, deadline, o));
  conn_.emplace(std::move(c));
  return &*conn_;
}

Result<bool> Lease::TryAcquireOrRenew() {
  OWSYNC_RETURN_IF_ERROR(Validate(options_));
  std::lock_guard<std::mutex> conn_lock(conn_mu_);
  CheckExpiredByClock();
  if (drop_lock_.load()) DropLock();
  const Deadline deadline = CallDeadline();
  const bool was_held = epoch_.load() != 0;
  const int lock_pid = was_held ? EnsureLock(deadline) : 0;
  OWSYNC_ASSIGN_OR_RETURN(bool held, RunStatement(lock_pid, was_held, deadline));
  if (held && !was_held && !options_.lock_url.empty()) {
    // A new term: take the lock and record it now, so the fast path protects this term
    // from its first seconds (not only from the next renewal).
    const Deadline again = CallDeadline();
    const int pid = EnsureLock(again);
    if (pid != 0) {
      OWSYNC_ASSIGN_OR_RETURN(held, RunStatement(pid, true, again));
    }
  }
  if (drop_lock_.load()) DropLock();
  return held;
}

Result<bool> Lease::RunStatement(int lock_pid, bool was_held, Deadline deadline) {
  auto fail = [&](const Status& s) -> Status {
    reachable_.store(false);
    if (conn_.has_value() && conn_->is_broken()) conn_.reset();
    // The kind of error, not its text (which may carry a failing row or a time): said once.
    const std::string kind = std::string(StatusCodeName(s.code())) + " " + SqlStateOf(s);
    bool repeated;
    {
      std::lock_guard<std::mutex> lock(mu_);
      repeated = last_error_kind_ == kind;
      last_error_kind_ = kind;
      last_error_ = s.ToString();
      permanent_error_ = s.retryable() ? Status::OK() : s;
    }
    if (!was_held && !repeated && !s.retryable()) {
      logger_->Error("lease {}: cannot campaign: {}. {}. No retry can fix this: {}",
                     options_.cluster, s.ToString(), LeaseErrorHint(s, options_.cluster),
                     options_.give_up_on_permanent_error
                         ? "giving up"
                         : "still retrying every " + std::to_string(options_.retry_micros / 1000) +
                               " ms (said once)");
    } else if (!was_held && !repeated) {  // a follower says it once, not every retry
      logger_->Warn("lease {}: attempt failed (retrying every {} ms): {}", options_.cluster,
                    options_.retry_micros / 1000, s.ToString());
    }
    if (was_held) {
      logger_->Warn("lease {}: renewal of epoch {} failed ({} ms of hold left): {}",
                    options_.cluster, epoch_.load(),
                    std::max<int64_t>(held_until_.load() - clock_->MonotonicMicros(), 0) / 1000,
                    s.ToString());
    }
    return s;
  };
  auto conn = Connection(deadline);
  if (!conn.ok()) return fail(conn.status().WithContext("lease connection"));
  const int64_t sent_at = clock_->MonotonicMicros();
  auto res = (*conn)->ExecParams(
      kAcquireSql,
      {options_.cluster, options_.node_id, std::to_string(options_.lease_micros),
       lock_pid != 0 ? std::to_string(lock_pid) : std::string()},
      deadline);
  if (!res.ok()) return fail(res.status().WithContext("lease statement"));
  reachable_.store(true);
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_error_.clear();
    last_error_kind_.clear();
    permanent_error_ = Status::OK();
  }
  LeaseObservation seen;
  if (res->rows() == 0) {  // no row, and our insert lost a race: someone else just took it
    if (was_held) Lost("the lease row was taken by another node");
    std::lock_guard<std::mutex> lock(mu_);
    observed_ = seen;
    return false;
  }
  const bool held = res->GetValue(0, 0) == "t";
  seen.leader_id = std::string(res->GetValue(0, 1));
  seen.epoch = ToInt(res->GetValue(0, 2));
  seen.expires_at_micros = ToInt(res->GetValue(0, 3));
  seen.server_now_micros = ToInt(res->GetValue(0, 4));
  seen.lock_pid = static_cast<int>(ToInt(res->GetValue(0, 11)));
  std::string reason;
  if (held) {
    if (res->IsNull(0, 5)) {
      reason = "no lease row existed";
    } else if (res->GetValue(0, 5) != options_.node_id) {
      if (res->GetValue(0, 7) == "t") {
        reason = fmt::format("previous leader {} (epoch {}) had expired", res->GetValue(0, 5),
                             res->GetValue(0, 6));
      } else {
        reason = fmt::format(
            "fast path: the session of previous leader {} (epoch {}, lock backend {}) is gone, "
            "{} ms before its lease would have expired",
            res->GetValue(0, 5), res->GetValue(0, 6), res->GetValue(0, 9), res->GetValue(0, 10));
      }
    } else if (res->GetValue(0, 7) == "t") {
      reason = "our own previous lease had expired at the server";
    } else {
      reason = "renewed before the server expiry";
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    observed_ = seen;
  }
  if (held) {
    Granted(seen.epoch, sent_at, reason);
    return IsHeld();
  }
  if (was_held) {
    Lost(fmt::format("{} holds the lease with epoch {}", seen.leader_id, seen.epoch));
  }
  return false;
}

int Lease::EnsureLock(Deadline deadline) {
  if (options_.lock_url.empty()) return 0;
  auto warn_once = [&](const std::string& what) {
    if (lock_warning_ == what) return;
    lock_warning_ = what;
    logger_->Warn("lease {}: advisory-lock fast path inactive: {}", options_.cluster, what);
  };
  if (lock_conn_.has_value() && lock_pid_.load() != 0) {
    // Still our session? (A terminated backend shows up here, and the row then says so.)
    auto ping = lock_conn_->Exec("SELECT 1", deadline);
    if (ping.ok()) return lock_pid_.load();
    logger_->Warn("lease {}: lost the advisory-lock session (backend {}): {}; taking it again",
                  options_.cluster, lock_pid_.load(), ping.status().ToString());
    lock_conn_.reset();
    lock_pid_.store(0);
  }
  if (lock_conn_.has_value() && lock_conn_->is_broken()) lock_conn_.reset();
  if (!lock_conn_.has_value()) {
    PgConnectOptions o;
    o.application_name = "owsync-lock";
    o.cancel_grace_micros = std::min<int64_t>(500'000, options_.safety_margin_micros / 2);
    o.logger = logger_;
    auto c = PgConnection::Connect(clock_, options_.lock_url, deadline, o);
    if (!c.ok()) {
      warn_once("lock connection: " + c.status().ToString());
      return 0;
    }
    lock_conn_.emplace(std::move(*c));
  }
  auto res = lock_conn_->ExecParams(kLockSql, {options_.cluster}, deadline);
  if (!res.ok()) {
    warn_once("taking the lock: " + res.status().ToString());
    if (lock_conn_->is_broken()) lock_conn_.reset();
    return 0;
  }
  if (res->GetValue(0, 0) != "t") {
    warn_once(
        "another session holds the cluster's advisory lock (a deposed leader that has not let "
        "go yet?); trying again at every renewal");
    return 0;
  }
  lock_pid_.store(static_cast<int>(ToInt(res->GetValue(0, 1))));
  lock_warning_.clear();
  logger_->Info("lease {}: holding the advisory lock (backend {}): fast path armed",
                options_.cluster, lock_pid_.load());
  return lock_pid_.load();
}

void Lease::DropLock() {
  drop_lock_.store(false);
  if (!lock_conn_.has_value()) return;
  const int pid = lock_pid_.exchange(0);
  lock_conn_.reset();  // closing the session releases the lock
  if (pid != 0) {
    logger_->Info("lease {}: released the advisory lock (backend {})", options_.cluster, pid);
  }
}

void Lease::Granted(int64_t epoch, int64_t sent_at, const std::string& reason) {
  CheckExpiredByClock();  // a hold that ran out while the answer was on its way is reported
  const int64_t until = sent_at + options_.lease_micros - options_.safety_margin_micros;
  if (until <= clock_->MonotonicMicros()) return;  // the answer came too late to lead on
  const int64_t old = epoch_.load();
  if (old == epoch) {
    held_until_.store(until);
  } else {
    epoch_.store(0);  // readers never pair the old epoch with the new deadline
    held_until_.store(until);
    epoch_.store(epoch);
  }
  bool announce;
  {
    std::lock_guard<std::mutex> lock(mu_);
    announce = !holding_ || old != epoch;
    holding_ = true;
  }
  if (announce) {
    logger_->Info("lease {}: {} acquired epoch {} ({})", options_.cluster, options_.node_id, epoch,
                  reason);
    if (options_.on_change) options_.on_change(epoch, reason);
  }
  cv_.notify_all();
}

void Lease::Lost(const std::string& reason) {
  const int64_t old = epoch_.exchange(0);
  drop_lock_.store(true);  // dropped by the thread holding conn_mu_ (next statement, Release)
  held_until_.store(0);
  bool announce;
  {
    std::lock_guard<std::mutex> lock(mu_);
    announce = holding_;
    holding_ = false;
  }
  if (announce) {
    logger_->Warn("lease {}: {} stepped down from epoch {}: {}", options_.cluster, options_.node_id,
                  old, reason);
    if (options_.on_change) options_.on_change(0, reason);
  }
  cv_.notify_all();
}

void Lease::CheckExpiredByClock() {
  if (epoch_.load() == 0 || clock_->MonotonicMicros() < held_until_.load()) return;
  std::string last;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last = last_error_;
  }
  Lost(fmt::format("no renewal confirmed within lease - margin ({} ms) by our own clock{}{}",
                   (options_.lease_micros - options_.safety_margin_micros) / 1000,
                   last.empty() ? "" : "; last error: ", last));
}

bool Lease::WaitFor(int64_t micros) {
  const int64_t target = clock_->MonotonicMicros() + std::max<int64_t>(micros, 0);
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_.load()) {
    const int64_t left = target - clock_->MonotonicMicros();
    if (left <= 0) return true;
    cv_.wait_for(lock, std::chrono::microseconds(std::min(left, kPollMicros)));
  }
  return false;
}

void Lease::Run() {
  while (!stopping_.load()) {
    const int64_t started = clock_->MonotonicMicros();
    auto r = TryAcquireOrRenew();
    int64_t wait = options_.retry_micros;
    if (r.ok() && *r) wait = started + options_.renew_every_micros - clock_->MonotonicMicros();
    if (epoch_.load() != 0) {  // wake when the hold ends, to step down on time
      wait = std::min(wait, held_until_.load() - clock_->MonotonicMicros());
    }
    if (!WaitFor(wait)) break;
    CheckExpiredByClock();
  }
}

Status Lease::AcquireAndKeep(Deadline deadline) {
  OWSYNC_RETURN_IF_ERROR(Validate(options_));
  {
    std::lock_guard<std::mutex> lock(thread_mu_);
    if (stopping_.load()) return Status::Aborted("lease " + options_.cluster + ": stopped");
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  }
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (stopping_.load()) return Status::Aborted("lease " + options_.cluster + ": stopped");
    if (IsHeld()) return Status::OK();
    if (options_.give_up_on_permanent_error && !permanent_error_.ok()) {
      return permanent_error_.WithContext("lease " + options_.cluster + " not acquired (" +
                                          LeaseErrorHint(permanent_error_, options_.cluster) + ")");
    }
    const int64_t left = deadline.RemainingMicros(clock_);
    if (left <= 0) break;
    cv_.wait_for(lock, std::chrono::microseconds(std::min(left, kPollMicros)));
  }
  if (!last_error_.empty()) {
    return Status::Unavailable("lease " + options_.cluster + " not acquired: " + last_error_);
  }
  return Status::Busy(fmt::format("lease {} is held by {} (epoch {})", options_.cluster,
                                  observed_.leader_id.empty() ? "nobody" : observed_.leader_id,
                                  observed_.epoch));
}

void Lease::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_.store(true);
  }
  cv_.notify_all();
  std::lock_guard<std::mutex> lock(thread_mu_);
  if (thread_.joinable()) thread_.join();
}

Status Lease::Release() {
  Stop();
  const int64_t epoch = epoch_.load();
  Lost("released (planned stop)");
  std::lock_guard<std::mutex> conn_lock(conn_mu_);
  const Deadline deadline = Deadline::After(clock_, options_.call_timeout_micros);
  auto conn = Connection(deadline);
  if (!conn.ok()) {
    DropLock();
    return conn.status().WithContext("releasing lease " + options_.cluster);
  }
  auto res = (*conn)->ExecParams(kReleaseSql, {options_.cluster, options_.node_id}, deadline);
  DropLock();
  if (!res.ok()) return res.status().WithContext("releasing lease " + options_.cluster);
  if (res->rows() > 0) {
    logger_->Info("lease {}: {} released epoch {} at the server (planned stop)", options_.cluster,
                  options_.node_id, res->GetValue(0, 0));
  } else {
    logger_->Info("lease {}: nothing to release (last epoch {} is no longer ours)",
                  options_.cluster, epoch);
  }
  return Status::OK();
}

}  // namespace owsync::shipper
