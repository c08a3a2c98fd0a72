#include "shipper/node_heartbeat.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "shipper/cluster_status.h"
#include "shipper/durable_offset.h"

namespace owsync::shipper {
namespace {

using nlohmann::json;

constexpr int64_t kWaitSliceMicros = 100'000;

json IsoOrNull(int64_t micros) {
  if (micros == 0) return nullptr;
  return FormatIsoUtc(micros);
}

}  // namespace

NodeHeartbeat::NodeHeartbeat(FileSystem* fs, Clock* clock, Logger* logger, NodePgSession* session,
                             ShipNode* node, NodeHeartbeatOptions options)
    : fs_(fs),
      clock_(clock),
      logger_(logger),
      session_(session),
      node_(node),
      options_(std::move(options)) {
  options_.interval_micros = std::max(options_.interval_micros, kMinIntervalMicros);
}

NodeHeartbeat::~NodeHeartbeat() { Stop(); }

void NodeHeartbeat::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Run(); });
}

void NodeHeartbeat::Stop() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_written_) return;
    stop_ = true;
    stopped_written_ = true;
    t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
  Status st = Beat(/*stopped=*/true);
  if (!st.ok()) {
    logger_->Warn("heartbeat {}/{}: could not record the planned stop: {}", options_.cluster,
                  options_.role, st.ToString());
  }
}

void NodeHeartbeat::Run() {
  while (true) {
    Status st = Beat(/*stopped=*/false);
    if (!st.ok() && !failing_.exchange(true)) {
      logger_->Warn("heartbeat {}/{}: cannot write sync_metadata.cluster_nodes: {}",
                    options_.cluster, options_.role, st.ToString());
    } else if (st.ok() && failing_.exchange(false)) {
      logger_->Info("heartbeat {}/{}: written again", options_.cluster, options_.role);
    }
    const int64_t until = clock_->MonotonicMicros() + options_.interval_micros;
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      const int64_t left = until - clock_->MonotonicMicros();
      if (left <= 0) break;
      cv_.wait_for(lock, std::chrono::microseconds(std::min(left, kWaitSliceMicros)));
    }
    if (stop_) return;
  }
}

json NodeHeartbeat::Details(const NodeSnapshot& s) const {
  json d;
  d["heartbeat_interval_seconds"] = static_cast<double>(options_.interval_micros) / 1e6;
  d["lease_seconds"] = static_cast<double>(options_.lease_micros) / 1e6;
  d["host_name"] = options_.host_name;
  d["pid"] = static_cast<int64_t>(getpid());
  d["postgres_reachable"] = s.postgres_reachable;
  d["uptime_seconds"] = static_cast<double>(clock_->NowMicros() - s.started_micros) / 1e6;
  d["last_commit_at"] = IsoOrNull(s.last_commit_micros);
  d["tenants"] = json::array();
  for (const TenantReport& r : node_->Report()) {
    const TenantProgress& p = r.progress;
    uint64_t durable = p.durable_offset;
    if (!options_.outbox_root.empty()) {
      auto mark = ReadDurableOffset(fs_, options_.outbox_root + "/" + r.client);
      if (mark.ok() && mark->has_value()) durable = std::max(durable, **mark);
    }
    // acked_offset: this term's last commit (0 before its first); the status reads the
    // backlog against tenant_offsets instead.
    json t = {{"client", r.client},
              {"acked_offset", p.acked_offset},
              {"durable_offset", durable},
              {"rows", p.rows},
              {"batches", p.batches},
              {"dead_letters", p.dead_letters},
              {"conflicts", p.conflicts},
              {"retries", p.retries},
              {"last_commit_at", IsoOrNull(p.last_commit_micros)},
              {"running", r.running}};
    const std::string& error = !r.stopped_error.empty() ? r.stopped_error : p.last_error;
    t["last_error"] = error.empty() ? json(nullptr) : json(error);
    d["tenants"].push_back(std::move(t));
  }
  return d;
}

Status NodeHeartbeat::Beat(bool stopped) {
  const NodeSnapshot s = node_->Snapshot();
  const bool leading = s.is_leader && !stopped;
  const std::string details = Details(s).dump();
  // The row's previous holder, to warn once when another live process uses the same ROLE.
  auto res = session_->Run<PgResult>([&](PgConnection* conn) {
    return conn->ExecParams(
        "WITH old AS (SELECT node_id, status, extract(epoch FROM now() - last_heartbeat) AS age "
        "             FROM sync_metadata.cluster_nodes "
        "             WHERE cluster_name = $1 AND node_role = $2) "
        "INSERT INTO sync_metadata.cluster_nodes AS n (cluster_name, node_role, node_id, "
        "  host_id, api_address, is_leader, epoch, started_at, last_heartbeat, status, details) "
        "VALUES ($1, $2, $3, sync_metadata.host_id_for_role(current_user), NULLIF($4, ''), "
        "  $5::boolean, NULLIF($6::bigint, 0), now(), now(), $7, $8::jsonb) "
        "ON CONFLICT (cluster_name, node_role) DO UPDATE SET node_id = EXCLUDED.node_id, "
        "  host_id = EXCLUDED.host_id, api_address = EXCLUDED.api_address, "
        "  is_leader = EXCLUDED.is_leader, epoch = EXCLUDED.epoch, "
        "  started_at = CASE WHEN n.node_id = EXCLUDED.node_id THEN n.started_at "
        "                    ELSE EXCLUDED.started_at END, "
        "  last_heartbeat = now(), status = EXCLUDED.status, details = EXCLUDED.details "
        "RETURNING (SELECT node_id FROM old), (SELECT status FROM old), "
        "  (SELECT age FROM old)::float8",
        {options_.cluster, options_.role, s.node_id, options_.api_address,
         leading ? "true" : "false", std::to_string(leading ? s.epoch : 0),
         stopped ? "stopped" : "running", details},
        session_->StatementDeadline());
  });
  if (!res.ok()) return res.status();
  // On the first beat another node id is normal (this node restarted after a crash or a
  // planned stop). Later, the row holding another id means another live process overwrote it
  // since our last beat: two nodes of the pair run with the same ROLE.
  const bool first = !wrote_once_.exchange(true);
  if (!first && res->rows() == 1 && !res->IsNull(0, 0) && res->GetValue(0, 0) != s.node_id &&
      !checked_duplicate_.exchange(true)) {
    logger_->Warn(
        "heartbeat {}/{}: node {} also writes the row of ROLE={}; each node of a pair needs its "
        "own ROLE (primary / secondary), or the status shows only one",
        options_.cluster, options_.role, res->GetValue(0, 0), options_.role);
  }
  return Status::OK();
}

}  // namespace owsync::shipper
