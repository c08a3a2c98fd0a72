#include "tests/shipper_phase_probe.h"

#include <signal.h>

namespace owsync::tests {
namespace {

using shipper::Deadline;

constexpr int64_t kStatementMicros = 2'000'000;
// How long a frozen shipper's session is given to settle before it is sampled again.
constexpr int64_t kSettleMicros = 5'000;
// Between two samples of a hunt: fast enough to see millisecond phases, leaving CPU to the
// shipper and the server on a 2-core machine.
constexpr int64_t kPollMicros = 200;

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

const char* ShipperPhaseName(ShipperPhase phase) {
  switch (phase) {
    case ShipperPhase::kNoSession:
      return "no session";
    case ShipperPhase::kIdle:
      return "idle between batches";
    case ShipperPhase::kBeforeCopy:
      return "in transaction, before COPY";
    case ShipperPhase::kMidCopy:
      return "mid-COPY";
    case ShipperPhase::kAfterCopy:
      return "after COPY, before COMMIT";
    case ShipperPhase::kAckedNotCommitted:
      return "acked offset written, before COMMIT";
    case ShipperPhase::kOtherStatement:
      return "other statement running";
  }
  return "?";
}

const char* KillTargetName(KillTarget target) {
  switch (target) {
    case KillTarget::kMidCopy:
      return "mid-COPY";
    case KillTarget::kBeforeCommit:
      return "between COPY and COMMIT";
    case KillTarget::kAnytime:
      return "anytime";
  }
  return "?";
}

bool PhaseMatches(KillTarget target, ShipperPhase phase) {
  switch (target) {
    case KillTarget::kMidCopy:
      return phase == ShipperPhase::kMidCopy;
    case KillTarget::kBeforeCommit:
      return phase == ShipperPhase::kAfterCopy || phase == ShipperPhase::kAckedNotCommitted;
    case KillTarget::kAnytime:
      return true;
  }
  return false;
}

ShipperPhaseProbe::ShipperPhaseProbe(Clock* clock, std::string admin_url, const std::string& client)
    : clock_(clock), admin_url_(std::move(admin_url)), application_name_("owsync ship " + client) {}

ShipperPhase ShipperPhaseProbe::Classify(const std::string& state, const std::string& query) {
  if (state == "idle") return ShipperPhase::kIdle;
  if (state == "active") {
    return StartsWith(query, "COPY") ? ShipperPhase::kMidCopy : ShipperPhase::kOtherStatement;
  }
  if (StartsWith(state, "idle in transaction")) {
    // By the last statement only: in a batch of several tables a SAVEPOINT or CREATE TEMP
    // after the first table's COPY still counts as "before COPY".
    if (StartsWith(query, "UPDATE sync_metadata.tenant_offsets SET acked_offset")) {
      return ShipperPhase::kAckedNotCommitted;
    }
    if (StartsWith(query, "BEGIN") || StartsWith(query, "SELECT") ||
        StartsWith(query, "UPDATE sync_metadata.tenant_offsets o SET acked_epoch") ||
        StartsWith(query, "CREATE TEMP") || StartsWith(query, "SAVEPOINT") ||
        query.find("._owsync_tables ") != std::string::npos) {  // schema records
      return ShipperPhase::kBeforeCopy;
    }
    return ShipperPhase::kAfterCopy;
  }
  return ShipperPhase::kOtherStatement;  // fastpath function call, disabled, ...
}

Status ShipperPhaseProbe::Connect() {
  if (conn_.has_value() && !conn_->is_broken()) return Status::OK();
  conn_.reset();
  shipper::PgConnectOptions o;
  o.application_name = "owsync-test-probe";
  OWSYNC_ASSIGN_OR_RETURN(shipper::PgConnection conn,
                          shipper::PgConnection::Connect(
                              clock_, admin_url_, Deadline::After(clock_, kStatementMicros), o));
  conn_.emplace(std::move(conn));
  return Status::OK();
}

Result<SessionSample> ShipperPhaseProbe::Sample() {
  OWSYNC_RETURN_IF_ERROR(Connect());
  Result<shipper::PgResult> res = conn_->ExecParams(
      "SELECT COALESCE(state, ''), left(COALESCE(query, ''), 80), COALESCE(wait_event, '') "
      "FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database() "
      "ORDER BY backend_start DESC",
      {application_name_}, Deadline::After(clock_, kStatementMicros));
  if (!res.ok()) {
    conn_.reset();
    return res.status();
  }
  SessionSample s;
  s.sessions = res->rows();
  if (s.sessions == 0) return s;
  s.state = std::string(res->GetValue(0, 0));
  s.query = std::string(res->GetValue(0, 1));
  s.wait_event = std::string(res->GetValue(0, 2));
  s.phase = Classify(s.state, s.query);
  return s;
}

Result<int> ShipperPhaseProbe::CountSessions(const std::vector<std::string>& prefixes) {
  OWSYNC_RETURN_IF_ERROR(Connect());
  int total = 0;
  for (const std::string& prefix : prefixes) {
    Result<shipper::PgResult> res = conn_->ExecParams(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
        "starts_with(application_name, $1)",
        {prefix}, Deadline::After(clock_, kStatementMicros));
    if (!res.ok()) {
      conn_.reset();
      return res.status();
    }
    total += std::stoi(std::string(res->GetValue(0, 0)));
  }
  return total;
}

Status ShipperPhaseProbe::WaitForSession(cli::ChildProcess* shipper, int64_t timeout_micros) {
  const int64_t end = clock_->MonotonicMicros() + timeout_micros;
  Status last = Status::OK();
  while (clock_->MonotonicMicros() < end) {
    OWSYNC_ASSIGN_OR_RETURN(std::optional<int> exited, shipper->TryWait());
    if (exited.has_value()) {
      return Status::Aborted("the shipper exited by itself (" + cli::DescribeWaitStatus(*exited) +
                             ")");
    }
    Result<SessionSample> s = Sample();
    if (s.ok() && s->sessions > 0) return Status::OK();
    if (!s.ok()) last = s.status();
    clock_->SleepForMicros(20'000);
  }
  return Status::Unavailable("no '" + application_name_ + "' session within " +
                             std::to_string(timeout_micros / 1000) + " ms" +
                             (last.ok() ? "" : " (last error: " + last.ToString() + ")"));
}

Status ShipperPhaseProbe::WaitForNoSessions(const std::vector<std::string>& prefixes,
                                            int64_t timeout_micros) {
  const int64_t end = clock_->MonotonicMicros() + timeout_micros;
  int left = -1;
  while (clock_->MonotonicMicros() < end) {
    Result<int> n = CountSessions(prefixes);
    if (n.ok() && *n == 0) return Status::OK();
    if (n.ok()) left = *n;
    clock_->SleepForMicros(10'000);
  }
  return Status::Unavailable(std::to_string(left) + " sessions of the killed shipper left");
}

Result<SessionSample> ShipperPhaseProbe::FreezeAndSample(cli::ChildProcess* shipper) {
  OWSYNC_RETURN_IF_ERROR(shipper->Signal(SIGSTOP));
  clock_->SleepForMicros(kSettleMicros);
  return Sample();
}

Result<KillReport> ShipperPhaseProbe::Kill(cli::ChildProcess* shipper, KillTarget target,
                                           int64_t hunt_micros, cli::WorkloadRandom* rng) {
  KillReport report;
  report.target = target;
  const int64_t start = clock_->MonotonicMicros();
  auto alive = [&]() -> Status {
    OWSYNC_ASSIGN_OR_RETURN(std::optional<int> status, shipper->TryWait());
    if (status.has_value()) {
      return Status::Aborted("the shipper exited by itself (" + cli::DescribeWaitStatus(*status) +
                             ") before it was killed");
    }
    return Status::OK();
  };
  auto kill = [&](const SessionSample& at, bool hit) -> Result<KillReport> {
    OWSYNC_RETURN_IF_ERROR(shipper->Signal(SIGKILL));
    report.phase = at.phase;
    report.query = at.query;
    report.wait_event = at.wait_event;
    report.hit = hit;
    report.hunt_micros = clock_->MonotonicMicros() - start;
    return report;
  };
  OWSYNC_RETURN_IF_ERROR(alive());
  if (target == KillTarget::kAnytime) {
    clock_->SleepForMicros(rng->Range(0, 1'500'000));
  } else {
    while (clock_->MonotonicMicros() - start < hunt_micros) {
      Result<SessionSample> s = Sample();
      ++report.samples;
      if (!s.ok()) {
        clock_->SleepForMicros(50'000);
        continue;
      }
      if (PhaseMatches(target, s->phase)) {
        OWSYNC_RETURN_IF_ERROR(alive());
        ++report.freezes;
        Result<SessionSample> frozen = FreezeAndSample(shipper);
        if (frozen.ok() && PhaseMatches(target, frozen->phase)) return kill(*frozen, true);
        OWSYNC_RETURN_IF_ERROR(shipper->Signal(SIGCONT));
      }
      clock_->SleepForMicros(kPollMicros);
    }
  }
  // kAnytime, or the hunt timed out: kill now, noting where it was.
  OWSYNC_RETURN_IF_ERROR(alive());
  ++report.freezes;
  Result<SessionSample> frozen = FreezeAndSample(shipper);
  return kill(frozen.ok() ? *frozen : SessionSample{}, target == KillTarget::kAnytime);
}

}  // namespace owsync::tests
