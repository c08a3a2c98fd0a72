#include "shipper/cluster_status.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>

#include "shipper/pg_result.h"

namespace owsync::shipper {
namespace {

using nlohmann::json;

int64_t ToInt(std::string_view v) {
  if (v.empty()) return 0;
  return std::stoll(std::string(v));
}

// Microseconds since the Unix epoch of a timestamptz expression (0 for +-infinity).
std::string Micros(const std::string& expr) {
  return "CASE WHEN isfinite(" + expr + ") THEN (extract(epoch FROM " + expr +
         ") * 1000000)::bigint ELSE 0 END";
}

json IsoOrNull(std::optional<int64_t> micros) {
  if (!micros.has_value() || *micros == 0) return nullptr;
  return FormatIsoUtc(*micros);
}

// Roles shown first, in this order, even without a row.
constexpr const char* kPairRoles[] = {"primary", "secondary"};

void DeriveNodeState(const LeaseStatus& lease, NodeStatus* n) {
  n->leader = lease.live && n->present && lease.leader_id == n->node_id;
  if (!n->present) {
    n->state = "missing";
  } else if (n->row_status == "stopped") {
    n->state = "stopped";
  } else if (n->heartbeat_age_seconds * 1e6 >
                 3.0 * static_cast<double>(n->heartbeat_interval_micros) ||
             (n->claims_leader && !n->leader)) {
    n->state = "stale";
  } else {
    n->state = "running";
  }
}

}  // namespace

std::string FormatIsoUtc(int64_t micros) {
  int64_t secs = micros >= 0 ? micros / 1'000'000 : (micros - 999'999) / 1'000'000;
  int64_t millis = (micros - secs * 1'000'000) / 1000;
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03dZ", buf, static_cast<int>(millis));
  return out;
}

std::string FormatAgo(double seconds) {
  if (seconds < 0) seconds = 0;
  auto unit = [](int64_t n, const char* one) {
    return std::to_string(n) + " " + one + (n == 1 ? "" : "s") + " ago";
  };
  if (seconds < 1) return "just now";
  if (seconds < 60) return unit(static_cast<int64_t>(seconds), "second");
  if (seconds < 3600) return unit(static_cast<int64_t>(seconds / 60), "minute");
  if (seconds < 86400) return unit(static_cast<int64_t>(seconds / 3600), "hour");
  return unit(static_cast<int64_t>(seconds / 86400), "day");
}

const NodeStatus* ClusterStatusReport::Node(const std::string& role) const {
  for (const NodeStatus& n : nodes) {
    if (n.role == role) return &n;
  }
  return nullptr;
}

json ClusterStatusReport::ToJson() const {
  json j;
  j["cluster"] = cluster;
  j["server_time"] = FormatIsoUtc(server_now_micros);
  j["lease"] = {{"leader_id", lease.present && lease.live ? json(lease.leader_id) : json(nullptr)},
                {"last_holder", lease.present ? json(lease.leader_id) : json(nullptr)},
                {"epoch", lease.epoch},
                {"expires_at", lease.present ? IsoOrNull(lease.expires_at_micros) : json(nullptr)},
                {"live", lease.live}};
  j["nodes"] = json::array();
  for (const NodeStatus& n : nodes) {
    json node = {{"role", n.role}, {"state", n.state}};
    node["leadership"] = n.leader ? "leader" : "standby";
    node["node_id"] = n.present ? json(n.node_id) : json(nullptr);
    node["api_address"] = n.api_address.empty() ? json(nullptr) : json(n.api_address);
    node["is_leader"] = n.leader;
    node["claims_leader"] = n.claims_leader;
    node["epoch"] = n.epoch;
    node["started_at"] = IsoOrNull(n.present ? std::optional(n.started_at_micros) : std::nullopt);
    node["last_heartbeat"] =
        IsoOrNull(n.present ? std::optional(n.last_heartbeat_micros) : std::nullopt);
    node["heartbeat_age_seconds"] =
        n.present ? json(std::round(n.heartbeat_age_seconds * 10) / 10) : json(nullptr);
    node["heartbeat_interval_seconds"] = static_cast<double>(n.heartbeat_interval_micros) / 1e6;
    j["nodes"].push_back(std::move(node));
  }
  j["tenants"] = json::array();
  for (const TenantStatus& t : tenants) {
    json tj = {{"client", t.client},
               {"acked_offset", t.acked_offset},
               {"acked_epoch", t.acked_epoch},
               {"last_commit_at", IsoOrNull(t.last_commit_micros)},
               {"dead_letters", t.dead_letters},
               {"pending_conflicts", t.pending_conflicts},
               {"shipping", t.shipping}};
    tj["durable_offset"] = t.durable_offset ? json(*t.durable_offset) : json(nullptr);
    tj["backlog"] = t.backlog ? json(*t.backlog) : json(nullptr);
    tj["lag_seconds"] = t.lag_seconds ? json(std::round(*t.lag_seconds * 10) / 10) : json(nullptr);
    tj["last_error"] = t.last_error.empty() ? json(nullptr) : json(t.last_error);
    j["tenants"].push_back(std::move(tj));
  }
  j["last_sync"] = IsoOrNull(last_sync_micros);
  j["pending_conflicts"] = pending_conflicts;
  j["dead_letters"] = dead_letters;
  return j;
}

Result<ClusterStatusReport> ClusterStatus::Read(PgConnection* conn, const std::string& cluster,
                                                Deadline deadline) {
  OWSYNC_RETURN_IF_ERROR(
      conn->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", deadline).status());
  struct Rollback {
    PgConnection* conn;
    Deadline deadline;
    ~Rollback() {
      if (!conn->is_broken()) (void)conn->Exec("ROLLBACK", deadline);
    }
  } rollback{conn, deadline};

  ClusterStatusReport r;
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult head,
      conn->ExecParams("SELECT COALESCE(NULLIF($1, ''), sync_metadata.cluster_for_role("
                       "current_user)), " +
                           Micros("now()"),
                       {cluster}, deadline));
  if (head.IsNull(0, 0)) {
    return Status::NotFound(
        "this role is not a registered host (sync_metadata.hosts.db_role): give the cluster, "
        "or use the host's runtime role (`owsync db add-host`)");
  }
  r.cluster = std::string(head.GetValue(0, 0));
  r.server_now_micros = ToInt(head.GetValue(0, 1));

  OWSYNC_ASSIGN_OR_RETURN(
      PgResult lease,
      conn->ExecParams("SELECT leader_id, epoch, " + Micros("lease_expires_at") +
                           ", lease_expires_at > now() FROM sync_metadata.leader_election "
                           "WHERE cluster_name = $1",
                       {r.cluster}, deadline));
  if (lease.rows() == 1) {
    r.lease.present = true;
    r.lease.leader_id = std::string(lease.GetValue(0, 0));
    r.lease.epoch = ToInt(lease.GetValue(0, 1));
    r.lease.expires_at_micros = ToInt(lease.GetValue(0, 2));
    r.lease.live = lease.GetValue(0, 3) == "t";
  }

  OWSYNC_ASSIGN_OR_RETURN(
      PgResult nodes,
      conn->ExecParams("SELECT node_role, node_id, COALESCE(api_address, ''), is_leader, "
                       "COALESCE(epoch, 0), " +
                           Micros("started_at") + ", " + Micros("last_heartbeat") +
                           ", extract(epoch FROM now() - last_heartbeat)::float8, status, "
                           "details::text FROM sync_metadata.cluster_nodes "
                           "WHERE cluster_name = $1 ORDER BY node_role",
                       {r.cluster}, deadline));
  std::map<std::string, NodeStatus> by_role;
  for (const char* role : kPairRoles) by_role[role].role = role;
  for (int i = 0; i < nodes.rows(); ++i) {
    NodeStatus n;
    n.role = std::string(nodes.GetValue(i, 0));
    n.present = true;
    n.node_id = std::string(nodes.GetValue(i, 1));
    n.api_address = std::string(nodes.GetValue(i, 2));
    n.claims_leader = nodes.GetValue(i, 3) == "t";
    n.epoch = ToInt(nodes.GetValue(i, 4));
    n.started_at_micros = ToInt(nodes.GetValue(i, 5));
    n.last_heartbeat_micros = ToInt(nodes.GetValue(i, 6));
    n.heartbeat_age_seconds = std::stod(std::string(nodes.GetValue(i, 7)));
    n.row_status = std::string(nodes.GetValue(i, 8));
    n.details = json::parse(nodes.GetValue(i, 9), nullptr, /*allow_exceptions=*/false);
    if (!n.details.is_object()) n.details = json::object();
    by_role[n.role] = std::move(n);
  }
  const NodeStatus* leader = nullptr;
  for (const char* role : kPairRoles) r.nodes.push_back(by_role[role]);
  for (auto& [role, n] : by_role) {
    if (role != kPairRoles[0] && role != kPairRoles[1]) r.nodes.push_back(n);
  }
  for (NodeStatus& n : r.nodes) {
    n.heartbeat_interval_micros = kDefaultHeartbeatMicros;
    auto it = n.details.find("heartbeat_interval_seconds");
    if (it != n.details.end() && it->is_number() && it->get<double>() > 0) {
      n.heartbeat_interval_micros = static_cast<int64_t>(it->get<double>() * 1e6);
    }
    DeriveNodeState(r.lease, &n);
    if (n.leader) leader = &n;
  }

  OWSYNC_ASSIGN_OR_RETURN(
      PgResult tenants,
      conn->ExecParams(
          "SELECT d.client_name, COALESCE(o.acked_offset, 0), COALESCE(o.acked_epoch, 0), "
          "CASE WHEN o.acked_offset > 0 THEN " +
              Micros("o.updated_at") +
              " END, "
              "(SELECT count(*) FROM sync_metadata.dead_letters x "
              "  WHERE x.client_name = d.client_name), "
              "(SELECT count(*) FROM sync_metadata.conflict_log c "
              "  WHERE c.client_name = d.client_name AND c.resolved_at IS NULL) "
              "FROM sync_metadata.client_deployments d "
              "LEFT JOIN sync_metadata.tenant_offsets o ON o.client_name = d.client_name "
              "WHERE d.host_id IN (SELECT host_id FROM sync_metadata.hosts "
              "                     WHERE cluster_name = $1) "
              "ORDER BY d.client_name",
          {r.cluster}, deadline));
  // What the leader's last heartbeat said per tenant.
  std::map<std::string, json> reported;
  if (leader != nullptr) {
    auto it = leader->details.find("tenants");
    if (it != leader->details.end() && it->is_array()) {
      for (const json& t : *it) {
        if (t.is_object() && t.contains("client") && t["client"].is_string()) {
          reported[t["client"].get<std::string>()] = t;
        }
      }
    }
  }
  for (int i = 0; i < tenants.rows(); ++i) {
    TenantStatus t;
    t.client = std::string(tenants.GetValue(i, 0));
    t.acked_offset = static_cast<uint64_t>(ToInt(tenants.GetValue(i, 1)));
    t.acked_epoch = ToInt(tenants.GetValue(i, 2));
    if (!tenants.IsNull(i, 3)) t.last_commit_micros = ToInt(tenants.GetValue(i, 3));
    t.dead_letters = ToInt(tenants.GetValue(i, 4));
    t.pending_conflicts = ToInt(tenants.GetValue(i, 5));
    auto rep = reported.find(t.client);
    if (rep != reported.end()) {
      const json& h = rep->second;
      if (h.contains("durable_offset") && h["durable_offset"].is_number_unsigned()) {
        t.durable_offset = h["durable_offset"].get<uint64_t>();
        t.backlog = *t.durable_offset > t.acked_offset ? *t.durable_offset - t.acked_offset : 0;
      }
      if (h.contains("last_error") && h["last_error"].is_string()) {
        t.last_error = h["last_error"].get<std::string>();
      }
      t.shipping = h.value("running", false);
    }
    if (t.backlog.has_value() && *t.backlog == 0) {
      t.lag_seconds = 0;
    } else if (t.last_commit_micros.has_value()) {
      t.lag_seconds =
          std::max(0.0, static_cast<double>(r.server_now_micros - *t.last_commit_micros) / 1e6);
    }
    if (t.last_commit_micros.has_value()) {
      r.last_sync_micros = std::max(r.last_sync_micros.value_or(0), *t.last_commit_micros);
    }
    r.pending_conflicts += t.pending_conflicts;
    r.dead_letters += t.dead_letters;
    r.tenants.push_back(std::move(t));
  }
  return r;
}

Result<std::string> ClusterStatus::ApiAddressOf(PgConnection* conn, const std::string& cluster,
                                                const std::string& node_id, Deadline deadline) {
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult res,
      conn->ExecParams("SELECT COALESCE(api_address, '') FROM sync_metadata.cluster_nodes "
                       "WHERE cluster_name = $1 AND node_id = $2",
                       {cluster, node_id}, deadline));
  if (res.rows() == 0) return std::string();
  return std::string(res.GetValue(0, 0));
}

}  // namespace owsync::shipper
