#include "shipper/sync_job_tracker.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>

#include "shipper/durable_offset.h"
#include "shipper/tenant_name.h"

namespace owsync::shipper {
namespace {

using nlohmann::json;

bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

// ISO-8601 UTC text of a `timestamp` column written with LOCALTIMESTAMP / now().
std::string Iso(const std::string& column) {
  return "to_char(" + column +
         "::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

}  // namespace

SyncJobTracker::SyncJobTracker(FileSystem* fs, Clock* clock, Logger* logger, NodePgSession* session,
                               ShipNode* node, SyncJobTrackerOptions options)
    : fs_(fs),
      clock_(clock),
      logger_(logger),
      session_(session),
      node_(node),
      options_(std::move(options)) {}

SyncJobTracker::~SyncJobTracker() { Stop(); }

void SyncJobTracker::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Run(); });
}

void SyncJobTracker::Stop() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stop_ = stopped_ = true;
    t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
  Poll();
  std::vector<Pending> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(jobs_);
  }
  for (const Pending& job : left) {
    if (!Finish(job, false, 0, 0, "the node stopped before the job finished")) {
      logger_->Warn("sync job {} ({}): left 'running': PostgreSQL could not be told", job.id,
                    job.client);
    }
  }
}

size_t SyncJobTracker::running_jobs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_.size();
}

void SyncJobTracker::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::microseconds(options_.poll_micros));
    if (stop_) break;
    if (jobs_.empty()) continue;
    lock.unlock();
    Poll();
    lock.lock();
  }
}

Result<std::string> SyncJobTracker::Trigger(const std::string& client) {
  OWSYNC_RETURN_IF_ERROR(TenantName::ValidateClientName(client));
  const NodeSnapshot s = node_->Snapshot();
  if (!s.is_leader) return Status::FailedPrecondition("this node does not lead its cluster");
  // The target: everything durable in the tenant's outbox now.
  uint64_t target = 0;
  if (!options_.outbox_root.empty()) {
    auto mark = ReadDurableOffset(fs_, options_.outbox_root + "/" + client);
    if (!mark.ok()) {
      if (mark.status().IsNotFound()) {
        return Status::NotFound("no outbox of tenant '" + client + "' under " +
                                options_.outbox_root);
      }
      return mark.status();
    }
    target = mark->value_or(0);
  }
  Pending job;
  job.client = client;
  for (const TenantReport& r : node_->Report()) {
    if (r.client != client) continue;
    target = std::max(target, r.progress.durable_offset);
    job.rows_at_start = r.progress.rows;
    job.starts_at_start = r.starts;
    job.was_stopped = !r.running;
  }
  job.target = target;
  OWSYNC_RETURN_IF_ERROR(node_->ShipNow(client));
  const json metadata = {{"node_id", s.node_id}, {"epoch", s.epoch}, {"target_offset", target}};
  auto res = session_->Run<PgResult>([&](PgConnection* conn) {
    return conn->ExecParams(
        "INSERT INTO sync_metadata.sync_jobs (deployment_id, client_name, status, sync_type, "
        "  triggered_by, metadata) "
        "SELECT d.deployment_id, d.client_name, 'running', 'manual', 'api', $2::jsonb "
        "FROM sync_metadata.client_deployments d WHERE d.client_name = $1 "
        "RETURNING job_id",
        {client, metadata.dump()}, session_->StatementDeadline());
  });
  if (!res.ok()) return res.status();
  if (res->rows() == 0) {
    return Status::NotFound("tenant '" + client + "' is not registered to this host");
  }
  job.id = std::string(res->GetValue(0, 0));
  job.triggered_monotonic = clock_->MonotonicMicros();
  logger_->Info("sync job {}: manual sync of tenant {} up to offset {}", job.id, client, target);
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(job);
  }
  cv_.notify_all();
  return job.id;
}

void SyncJobTracker::Poll() {
  std::lock_guard<std::mutex> poll_lock(poll_mu_);
  std::vector<Pending> jobs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs = jobs_;
  }
  if (jobs.empty()) return;
  // Acked offsets as PostgreSQL has them (a shipper reports its own only after a commit).
  std::vector<std::string> clients;
  for (const Pending& j : jobs) clients.push_back(j.client);
  std::string array = "{";
  for (size_t i = 0; i < clients.size(); ++i) array += (i ? "," : "") + clients[i];
  array += "}";
  auto res = session_->Run<PgResult>([&](PgConnection* conn) {
    return conn->ExecParams(
        "SELECT client_name, acked_offset FROM sync_metadata.tenant_offsets "
        "WHERE client_name = ANY($1::text[])",
        {array}, session_->StatementDeadline());
  });
  if (!res.ok()) return;  // PostgreSQL unreachable: the next poll tries again
  std::map<std::string, uint64_t> acked;
  for (int i = 0; i < res->rows(); ++i) {
    acked[std::string(res->GetValue(i, 0))] = std::stoull(std::string(res->GetValue(i, 1)));
  }
  std::map<std::string, TenantReport> reports;
  for (TenantReport& r : node_->Report()) reports[r.client] = std::move(r);
  const bool leading = node_->Snapshot().is_leader;
  const int64_t now = clock_->MonotonicMicros();

  std::vector<std::string> settled;
  for (const Pending& job : jobs) {
    const uint64_t pg_acked = acked.count(job.client) ? acked[job.client] : 0;
    auto it = reports.find(job.client);
    bool done = false;
    if (pg_acked >= job.target) {
      int64_t rows = 0;
      if (it != reports.end()) {
        rows = it->second.starts == job.starts_at_start
                   ? it->second.progress.rows - job.rows_at_start
                   : it->second.progress.rows;
      }
      done = Finish(job, true, std::max<int64_t>(rows, 0), pg_acked, "");
    } else if (!leading || it == reports.end()) {
      done = Finish(job, false, 0, pg_acked,
                    "this node stopped leading before the tenant reached offset " +
                        std::to_string(job.target) + " (acked " + std::to_string(pg_acked) +
                        "); the new leader ships it: trigger again there to follow it");
    } else if (!it->second.running) {
      const TenantReport& r = it->second;
      const bool restarted = r.starts != job.starts_at_start;
      if (job.was_stopped && !restarted &&
          now - job.triggered_monotonic < options_.restart_grace_micros) {
        continue;  // woken: the runner restarts it within its next check
      }
      done = Finish(
          job, false, 0, pg_acked,
          "tenant " + job.client + " stopped at offset " + std::to_string(pg_acked) +
              " before reaching " + std::to_string(job.target) + ": " +
              (r.stopped_error.empty() ? std::string("no error reported") : r.stopped_error));
    }
    if (done) settled.push_back(job.id);
  }
  if (settled.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  jobs_.erase(std::remove_if(jobs_.begin(), jobs_.end(),
                             [&](const Pending& j) {
                               return std::find(settled.begin(), settled.end(), j.id) !=
                                      settled.end();
                             }),
              jobs_.end());
}

bool SyncJobTracker::Finish(const Pending& job, bool success, int64_t rows, uint64_t acked,
                            const std::string& error) {
  auto res = session_->Run<PgResult>([&](PgConnection* conn) {
    return conn->ExecParams(
        "UPDATE sync_metadata.sync_jobs SET status = $2, completed_at = LOCALTIMESTAMP, "
        "  rows_synced = $3::integer, error_message = NULLIF($4, ''), "
        "  metadata = COALESCE(metadata, '{}'::jsonb) || "
        "             jsonb_build_object('acked_offset', $5::bigint) "
        "WHERE job_id = $1::uuid AND status = 'running'",
        {job.id, success ? "success" : "failed", std::to_string(std::min<int64_t>(rows, INT32_MAX)),
         error, std::to_string(acked)},
        session_->StatementDeadline());
  });
  if (!res.ok()) {
    logger_->Warn("sync job {}: cannot record its end yet: {}", job.id, res.status().ToString());
    return false;
  }
  if (success) {
    logger_->Info("sync job {}: tenant {} acked offset {} (target {}): success", job.id, job.client,
                  acked, job.target);
  } else {
    logger_->Warn("sync job {}: failed: {}", job.id, error);
  }
  return true;
}

Result<json> SyncJobTracker::Job(const std::string& job_id) {
  if (!IsUuid(job_id)) return Status::InvalidArgument("'" + job_id + "' is not a job id (uuid)");
  auto res = session_->Run<PgResult>([&](PgConnection* conn) {
    return conn->ExecParams(
        "SELECT json_build_object('job_id', job_id, 'client', client_name, "
        "  'deployment_id', deployment_id, 'status', status, 'sync_type', sync_type, "
        "  'triggered_by', triggered_by, 'started_at', " +
            Iso("started_at") + ", 'completed_at', " + Iso("completed_at") +
            ", 'duration_seconds', duration_seconds, 'rows_synced', rows_synced, "
            "  'rows_failed', rows_failed, 'tables_synced', tables_synced, "
            "  'tables_total', tables_total, 'bytes_transferred', bytes_transferred, "
            "  'conflicts_detected', conflicts_detected, "
            "  'conflicts_resolved', conflicts_resolved, 'error_message', error_message, "
            "  'error_details', error_details, 'metadata', metadata)::text "
            "FROM sync_metadata.sync_jobs WHERE job_id = $1::uuid",
        {job_id}, session_->StatementDeadline());
  });
  if (!res.ok()) return res.status();
  if (res->rows() == 0) return Status::NotFound("no sync job " + job_id);
  json j = json::parse(res->GetValue(0, 0), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Internal("sync job " + job_id + ": unreadable row");
  return j;
}

}  // namespace owsync::shipper
