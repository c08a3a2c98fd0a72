#include "shipper/tenant_claim.h"

#include <fmt/format.h>

#include <atomic>
#include <set>
#include <thread>

#include "shipper/pg_error.h"
#include "shipper/shipper_session_mark.h"

namespace owsync::shipper {
namespace {

constexpr const char* kClaimSql =
    "UPDATE sync_metadata.tenant_offsets o SET acked_epoch = $2::bigint WHERE "
    "o.client_name = $1 AND o.acked_epoch <= $2::bigint AND EXISTS (SELECT 1 FROM "
    "sync_metadata.leader_election l WHERE l.cluster_name = $3 AND l.epoch = $2::bigint) "
    "RETURNING acked_offset, COALESCE(outbox_id, ''), schema_version, "
    "COALESCE(deployment_id::text, ''), COALESCE(acked_fingerprint, '')";

// The sessions blocking the claim: this tenant's shippers (ShipperSessionMark) are ended,
// others only reported.
std::string BlockersSql(const std::string& client) {
  return "SELECT b, COALESCE(a.application_name, ''), COALESCE(a.state, ''), CASE WHEN " +
         ShipperSessionMark::HeldBySql("b", client) +
         " THEN pg_terminate_backend(b) ELSE false END "
         "FROM unnest(pg_blocking_pids($1::integer)) AS b "
         "LEFT JOIN pg_stat_activity a ON a.pid = b";
}

constexpr int64_t kPollMicros = 50'000;

}  // namespace

Result<TenantOffset> TenantClaim::Attempt(PgConnection* conn, int64_t epoch,
                                          int64_t lock_wait_micros, std::atomic<int>* backend_pid) {
  const Deadline deadline = Deadline::After(clock_, lock_wait_micros + 10'000'000);
  auto rollback = [&](Status s) -> Status {
    if (!conn->is_broken()) (void)conn->Exec("ROLLBACK", Deadline::After(clock_, 5'000'000));
    return s;
  };
  OWSYNC_RETURN_IF_ERROR(conn->Exec(fmt::format("BEGIN; {}; SET LOCAL lock_timeout = '{}ms'",
                                                ShipperSessionMark::TakeSql(options_.client),
                                                std::max<int64_t>(lock_wait_micros / 1000, 1)),
                                    deadline)
                             .status());
  auto pid = conn->Exec("SELECT pg_backend_pid()", deadline);
  if (!pid.ok()) return rollback(pid.status());
  if (backend_pid != nullptr) {
    backend_pid->store(std::atoi(std::string(pid->GetValue(0, 0)).c_str()));
  }
  const std::string e = std::to_string(epoch);
  auto res = conn->ExecParams(kClaimSql, {options_.client, e, options_.cluster}, deadline);
  if (!res.ok()) return rollback(res.status());
  if (res->rows() == 0) {
    auto now = BatchApplier::ReadOffset(conn, options_.client, deadline);
    if (!now.ok()) return rollback(now.status());
    return rollback(Status::FailedPrecondition(fmt::format(
        "fenced: tenant '{}' is claimed by epoch {} or epoch {} no longer holds the lease of "
        "cluster '{}'; this shipper must not commit",
        options_.client, now->acked_epoch, e, options_.cluster)));
  }
  TenantOffset o;
  o.acked_offset = std::stoull(std::string(res->GetValue(0, 0)));
  o.outbox_id = res->GetValue(0, 1);
  o.acked_epoch = epoch;
  o.schema_version = std::stoll(std::string(res->GetValue(0, 2)));
  o.deployment_id = res->GetValue(0, 3);
  o.acked_fingerprint = res->GetValue(0, 4);
  OWSYNC_RETURN_IF_ERROR(conn->Exec("COMMIT", deadline).status());
  return o;
}

Result<int> TenantClaim::EndBlockers(PgConnection* helper, int pid, std::set<std::string>* told) {
  OWSYNC_ASSIGN_OR_RETURN(PgResult res,
                          helper->ExecParams(BlockersSql(options_.client), {std::to_string(pid)},
                                             Deadline::After(clock_, 5'000'000)));
  int ended = 0;
  for (int i = 0; i < res.rows(); ++i) {
    if (res.GetValue(i, 3) == "t") {
      ++ended;
      logger_->Warn(
          "tenant {}: ended session {} ({}, {}) of a deposed leader that still held the "
          "tenant's offset row after the lease had passed to us",
          options_.client, res.GetValue(i, 0), res.GetValue(i, 1), res.GetValue(i, 2));
    } else if (told->insert(std::string(res.GetValue(i, 0))).second) {
      // Said once per session (the claim looks every 50 ms).
      logger_->Warn("tenant {}: claim waits for session {} ({}, {}), which is not a shipper",
                    options_.client, res.GetValue(i, 0), res.GetValue(i, 1), res.GetValue(i, 2));
    }
  }
  return ended;
}

Result<TenantOffset> TenantClaim::Claim(PgConnection* conn, int64_t epoch) {
  Result<TenantOffset> first = Attempt(conn, epoch, options_.wait_micros, nullptr);
  if (first.ok() || SqlStateOf(first.status()) != sqlstate::kLockNotAvailable) return first;
  if (options_.still_leader && !options_.still_leader()) return first;
  logger_->Warn(
      "tenant {}: offset row still locked {} ms into the claim of epoch {}: ending the deposed "
      "leader's batch that holds it",
      options_.client, options_.wait_micros / 1000, epoch);
  PgConnectOptions o;
  o.application_name = "owsync claim " + options_.client;
  o.logger = logger_;
  OWSYNC_ASSIGN_OR_RETURN(
      PgConnection helper,
      PgConnection::Connect(clock_, options_.url, Deadline::After(clock_, 5'000'000), o));
  std::atomic<int> pid{0};
  std::atomic<bool> done{false};
  Result<TenantOffset> second = Status::Internal("claim did not run");
  std::thread claimer([&] {
    second = Attempt(conn, epoch, options_.terminate_wait_micros, &pid);
    done.store(true);
  });
  Status helper_error;
  std::set<std::string> told;  // sessions reported as waited for
  while (!done.load()) {
    clock_->SleepForMicros(kPollMicros);
    if (done.load() || pid.load() == 0 || !helper_error.ok()) continue;
    if (options_.still_leader && !options_.still_leader()) continue;
    Result<int> ended = EndBlockers(&helper, pid.load(), &told);
    if (!ended.ok()) helper_error = ended.status();
  }
  claimer.join();
  if (!second.ok() && !helper_error.ok()) {
    return second.status().WithContext("ending the blockers failed too: " +
                                       helper_error.ToString());
  }
  return second;
}

}  // namespace owsync::shipper
