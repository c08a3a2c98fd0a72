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
};

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

  // Planned stop: stops the thread, stops holding at once, then ends the lease at the server
  // (lease_expires_at = now()) if the row is still ours, so a follower takes over now.
  [[nodiscard]] Status Release();
  // Stops the background thread (interrupts AcquireAndKeep); callable from any thread (e.g.
  // a signal watcher), returns once the thread ended. The lease is left to expire.
  void Stop();

 private:
  void Run();
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

  std::mutex conn_mu_;  // the connection and the statements on it
  std::optional<PgConnection> conn_;

  mutable std::mutex mu_;  // state below
  std::condition_variable cv_;
  LeaseObservation observed_;
  bool holding_ = false;  // what we last logged
  std::string last_error_;
  std::mutex thread_mu_;  // starting and joining the thread (Stop may come from any thread)
  std::thread thread_;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_LEASE_H_
