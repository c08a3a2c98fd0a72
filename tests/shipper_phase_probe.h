// ShipperPhaseProbe: where a running shipper's PostgreSQL session is in its batch
// transaction, seen from pg_stat_activity as the administrator, and SIGKILL of the shipper
// process at a chosen phase (tests/ship_crash_pg_test.cc).
//
// A kill is precise: when a sample shows the target phase the shipper is frozen (SIGSTOP),
// the session is sampled again after a few milliseconds (a frozen client sends nothing, so
// the server's state then is the state at the kill) and the shipper is killed only if it is
// still in the phase; otherwise it is resumed (SIGCONT) and the hunt goes on. The phase
// reported for a kill is always the one confirmed while frozen.
//
// Phases are read from `state` and the last statement (`query`) of the session whose
// application_name is "owsync ship <client>" (shipper/tenant_shipper.cc): the shipper's batch
// is BEGIN; claim (UPDATE ... acked_epoch); per table [CREATE TEMP / SAVEPOINT] COPY, upsert;
// UPDATE ... acked_offset; COMMIT. Not thread-safe; owns one connection, reconnected after an
// error (PostgreSQL restarts).
#ifndef OWSYNC_TESTS_SHIPPER_PHASE_PROBE_H_
#define OWSYNC_TESTS_SHIPPER_PHASE_PROBE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/child_process.h"
#include "cli/workload_random.h"
#include "shipper/pg_connection.h"
#include "util/clock.h"
#include "util/result.h"

namespace owsync::tests {

enum class ShipperPhase {
  kNoSession,          // no shipper session (not leading yet, reconnecting, PostgreSQL down)
  kIdle,               // between transactions
  kBeforeCopy,         // in a batch transaction, no COPY yet (BEGIN, claim, CREATE TEMP, ...)
  kMidCopy,            // a COPY ... FROM STDIN is running (active)
  kAfterCopy,          // idle in the transaction after a COPY or an upsert, before COMMIT
  kAckedNotCommitted,  // the acked offset is written, COMMIT not sent yet
  kOtherStatement,     // another statement is running (upsert, claim, COMMIT, ...)
};
inline constexpr int kShipperPhaseCount = 7;
const char* ShipperPhaseName(ShipperPhase phase);

// What to kill in: the hunt's goal.
enum class KillTarget { kMidCopy, kBeforeCommit, kAnytime };
const char* KillTargetName(KillTarget target);
bool PhaseMatches(KillTarget target, ShipperPhase phase);

struct SessionSample {
  ShipperPhase phase = ShipperPhase::kNoSession;
  int sessions = 0;  // shipper sessions of the client (more than one: an old one lingers)
  std::string state, query, wait_event;
};

struct KillReport {
  KillTarget target = KillTarget::kAnytime;
  ShipperPhase phase = ShipperPhase::kNoSession;  // confirmed while frozen
  bool hit = false;  // the target phase (kAnytime: always); false: fallback kill
  int64_t hunt_micros = 0;
  int samples = 0;         // pg_stat_activity reads during the hunt
  int freezes = 0;         // SIGSTOPs (the last one ends in the kill)
  std::string query;       // the session's last statement at the kill (first 80 bytes)
  std::string wait_event;  // e.g. ClientRead: mid-COPY waiting for the (dead) shipper's data
};

class ShipperPhaseProbe {
 public:
  // `admin_url`: an administrator of the server (any database); `client`: the tenant.
  ShipperPhaseProbe(Clock* clock, std::string admin_url, const std::string& client);

  static ShipperPhase Classify(const std::string& state, const std::string& query);

  // One read of pg_stat_activity (connection errors are returned; the next call reconnects).
  Result<SessionSample> Sample();
  // Sessions of this process's database whose application_name starts with one of `prefixes`.
  Result<int> CountSessions(const std::vector<std::string>& prefixes);
  // Polls until a shipper session exists (OK) or `timeout_micros` passes (Unavailable);
  // Aborted as soon as `shipper` exited.
  [[nodiscard]] Status WaitForSession(cli::ChildProcess* shipper, int64_t timeout_micros);
  // Polls until no session of `prefixes` is left (the killed shipper's server side is gone).
  [[nodiscard]] Status WaitForNoSessions(const std::vector<std::string>& prefixes,
                                         int64_t timeout_micros);

  // Kills `shipper` (SIGKILL) in `target`'s phase, hunting at most `hunt_micros`, then at
  // whatever phase it is in (hit = false). kAnytime waits a random 0..1.5 s first. Errors:
  // the shipper exited by itself, signals failed, PostgreSQL unreachable for the whole hunt.
  Result<KillReport> Kill(cli::ChildProcess* shipper, KillTarget target, int64_t hunt_micros,
                          cli::WorkloadRandom* rng);

 private:
  Status Connect();
  Result<SessionSample> FreezeAndSample(cli::ChildProcess* shipper);

  Clock* clock_;
  std::string admin_url_;
  std::string application_name_;
  std::optional<shipper::PgConnection> conn_;
};

}  // namespace owsync::tests

#endif  // OWSYNC_TESTS_SHIPPER_PHASE_PROBE_H_
