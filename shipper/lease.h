// Lease: this process's claim to lead its HA cluster, held in the row of
// sync_metadata.leader_election named after the cluster. The row's lease_expires_at
// (timestamptz) is always compared with the server's now(); its epoch is the fencing token,
// drawn from sync_metadata.leader_epoch_seq on every acquisition (never on a renewal).
//
// Acquire and renew are one atomic statement: it takes the row when it is missing or expired,
// renews it when it is already ours, and otherwise leaves it alone. Two Lease objects (two
// processes) can never both be granted the row for overlapping server time.
//
// Step-down is decided by our own clock (Clock::MonotonicMicros, CLOCK_BOOTTIME): a grant
// counts from the moment its request was SENT, minus a safety margin, so IsHeld() turns false
// before the server can consider the lease expired, whether or not PostgreSQL answers.
//
// Fast path (options.lock_url set): while it leads, the node also holds a session advisory lock
// on a connection of its own (application_name "owsync-lock") and records that backend's pid in
// the row (lock_pid) at every renewal. A follower's statement also takes the row (new epoch)
// when lock_pid is set and pg_locks shows no granted advisory lock of that backend: the
// leader's session is gone, so it takes over at once instead of waiting for the expiry. A
// follower never takes the lock itself; a leader drops it as soon as it stops leading. Through
// a transaction pooler the pid is a pooled backend that keeps the lock: no false takeover, the
// lease alone decides (so the fast path is simply off there, see ShipConfig).
//
// Threads: AcquireAndKeep starts one background thread that campaigns (every retry_micros)
// while not held and renews (every renew_every_micros) while held, on its own PgConnection
// (reconnected on failure; every call has a deadline of at most the remaining lease). The
// accessors are lock-free and may be called from any thread. Every change of leadership is
// logged with its reason. The destructor stops the thread without releasing (like a crash);
// a planned stop calls Release().
#ifndef OWSYNC_SHIPPER_LEASE_H_
#define OWSYNC_SHIPPER_LEASE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "shipper/deadline.h"
#include "shipper/pg_connection.h"
#include "util/clock.h"
#include "util/logger.h"
#include "util/result.h"

namespace owsync::shipper {

struct LeaseOptions {
  std::string cluster;  // the lease row (must be the host role's own cluster: RLS)
  std::string node_id;  // unique per process, <= 100 bytes (see Lease::MakeNodeId)
  int64_t lease_micros = 10'000'000;
  int64_t renew_every_micros = 0;    // 0 = lease / 3
  int64_t retry_micros = 500'000;    // campaign and failed-renewal retry period
  int64_t safety_margin_micros = 0;  // 0 = lease / 5, the least allowed
  // Longest wait for one PostgreSQL call (capped further by the remaining lease).
  int64_t call_timeout_micros = 3'000'000;
  // Session-mode URL for the advisory lock of the fast path; "" = fast path off.
  std::string lock_url;
  // AcquireAndKeep returns an error no retry can fix (login refused, a cluster the role may
  // not lead, sync_metadata missing) at once instead of waiting: batch jobs (ship --once,
  // replay) exit with it; a continuous node keeps trying (the error is logged once).
  bool give_up_on_permanent_error = false;
  // Called on every change (from the thread that noticed it, holding the lease's connection
  // lock: it must not call back into the Lease): the new epoch, or 0 when lost or released.
  std::function<void(int64_t epoch, const std::string& reason)> on_change;
};

// What the last statement saw of the row (for /health and logs).
struct LeaseObservation {
  std::string leader_id;  // "" when there is no row
  int64_t epoch = 0;
  int64_t expires_at_micros = 0;  // lease_expires_at, server time since the Unix epoch
  int64_t server_now_micros = 0;  // the server's now() when the statement ran
  int lock_pid = 0;               // the holder's lock backend (0 = none recorded)
};

// What an operator does about a lease error no retry fixes ("CLUSTER_NAME must be ...").
std::string LeaseErrorHint(const Status& s, const std::string& cluster);

class Lease {
 public:
  // `clock` and `logger` must outlive the Lease. `url` is the host role's DATABASE_URL.
  Lease(Clock* clock, Logger* logger, std::string url, LeaseOptions options);
  ~Lease();
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  // "<host>:<role>:<pid>:<random hex>", cut to 100 bytes: unique per process.
  static std::string MakeNodeId(const std::string& host, const std::string& role);
  // InvalidArgument naming the option when the timings cannot work (margin >= lease, renewal
  // slower than the held time, ...).
  static Status Validate(const LeaseOptions& options);

  // One attempt, one atomic statement: true when we hold the lease afterwards (acquired or
  // renewed), false when another node holds it. Errors (connection, deadline, RLS) are
  // returned; a failed renewal leaves the held time to run out by the clock.
  Result<bool> TryAcquireOrRenew();

  // Starts the background thread (once) and waits until the lease is held (OK), `deadline`
  // passes (Busy: another node leads; the thread keeps campaigning) or Stop() (Aborted).
  [[nodiscard]] Status AcquireAndKeep(Deadline deadline);

  // Our epoch while held, else 0 (checked against the clock on every call).
  int64_t epoch() const;
  bool IsHeld() const;
  // Monotonic time at which our hold ends unless renewed (0 when not held).
  int64_t held_until_micros() const { return held_until_.load(); }
  const std::string& node_id() const { return options_.node_id; }
  LeaseObservation last_observed() const;
  // True when the last statement on the lease connection succeeded.
  bool reachable() const { return reachable_.load(); }
  // Backend pid of our advisory lock while we hold it, else 0.
  int lock_pid() const { return lock_pid_.load(); }

  // Planned stop: stops the thread, stops holding at once, then ends the lease at the server
  // (lease_expires_at = now()) if the row is still ours, so a follower takes over now.
  [[nodiscard]] Status Release();
  // Stops the background thread (interrupts AcquireAndKeep); callable from any thread (e.g.
  // a signal watcher), returns once the thread ended. The lease is left to expire.
  void Stop();

 private:
  void Run();
  // One statement (acquire or renew) recording `lock_pid` (0 = none) in the row.
  Result<bool> RunStatement(int lock_pid, bool was_held, Deadline deadline);
  // Fast path: makes sure we hold the advisory lock; its backend pid, or 0 when it cannot be
  // had now (another session holds it, or the lock connection fails: logged once).
  int EnsureLock(Deadline deadline);
  void DropLock();
  // Waits up to `micros` of clock time or until Stop; false when stopping.
  bool WaitFor(int64_t micros);
  Result<PgConnection*> Connection(Deadline deadline);
  Deadline CallDeadline();
  void Granted(int64_t epoch, int64_t sent_at, const std::string& reason);
  void Lost(const std::string& reason);
  void CheckExpiredByClock();

  Clock* clock_;
  Logger* logger_;
  std::string url_;
  LeaseOptions options_;

  std::atomic<int64_t> epoch_{0};       // the epoch we were granted last (0 = none)
  std::atomic<int64_t> held_until_{0};  // monotonic micros; hold ends here
  std::atomic<bool> stopping_{false};

  std::mutex conn_mu_;  // the connections and the statements on them
  std::optional<PgConnection> conn_;
  std::optional<PgConnection> lock_conn_;  // fast path: the session holding the lock
  std::atomic<int> lock_pid_{0};           // its backend pid while the lock is held
  std::atomic<bool> drop_lock_{false};     // set on losing the lease: drop the lock next
  std::string lock_warning_;               // last fast-path problem logged (said once)
  std::atomic<bool> reachable_{false};

  mutable std::mutex mu_;  // state below
  std::condition_variable cv_;
  LeaseObservation observed_;
  bool holding_ = false;  // what we last logged
  std::string last_error_;
  std::string last_error_kind_;  // code and SQLSTATE of last_error_ (repeats are not logged)
  Status permanent_error_;       // the last attempt's error when no retry can fix it
  std::mutex thread_mu_;         // starting and joining the thread (Stop may come from any thread)
  std::thread thread_;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_LEASE_H_
