// `owsync status`: the HA pair and its tenants as PostgreSQL records them (the lease row, each
// node's heartbeat, tenant offsets, conflicts, dead letters), for a person — or with --json the
// same JSON as GET /api/v1/cluster/status. It reads PostgreSQL directly, so it works with both
// nodes down. Exit codes: 0 shown, 1 PostgreSQL could not be read, 2 bad usage.
#include <CLI/CLI.hpp>
#include <cctype>
#include <cmath>
#include <iostream>
#include <sstream>

#include "cli/cli_context.h"
#include "cli/database_url.h"
#include "shipper/cluster_status.h"
#include "shipper/pg_connection.h"

namespace owsync::cli {
namespace {

using shipper::ClusterStatusReport;
using shipper::Deadline;
using shipper::NodeStatus;
using shipper::TenantStatus;

struct StatusArgs {
  std::string to;
  std::string to_file;
  std::string cluster;
  bool json = false;
};

std::string Label(const std::string& role) {
  if (role.empty()) return role;
  std::string s = role;
  s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

// "0.4 s", "12 s", "3 min 5 s", "2 h 10 min".
std::string Duration(double seconds) {
  std::ostringstream out;
  if (seconds < 10) {
    out << std::fixed;
    out.precision(1);
    out << seconds << " s";
  } else if (seconds < 120) {
    out << static_cast<int64_t>(seconds) << " s";
  } else if (seconds < 7200) {
    int64_t s = static_cast<int64_t>(seconds);
    out << s / 60 << " min " << s % 60 << " s";
  } else {
    int64_t m = static_cast<int64_t>(seconds / 60);
    out << m / 60 << " h " << m % 60 << " min";
  }
  return out.str();
}

std::string NodeLine(const NodeStatus& n, int64_t now_micros) {
  const std::string who = n.leader ? "Leader" : "Standby";
  const std::string ago = shipper::FormatAgo(n.heartbeat_age_seconds);
  std::string line = Label(n.role) + ": ";
  if (n.state == "running") return line + "✅ Running (" + who + ")";
  if (n.state == "stale") {
    return line + "⚠️ Stale (" + (n.leader ? "Leader, " : "") + "last heartbeat " + ago + ")";
  }
  if (n.state == "stopped") {
    return line + "❌ Not running (stopped " +
           shipper::FormatAgo(static_cast<double>(now_micros - n.last_heartbeat_micros) / 1e6) +
           ")";
  }
  return line + "❌ Not running (no heartbeat recorded)";
}

std::string TenantLine(const TenantStatus& t) {
  std::string line = "  " + t.client + ": acked offset " + std::to_string(t.acked_offset);
  line += ", lag " + (t.lag_seconds ? Duration(*t.lag_seconds) : std::string("unknown"));
  line += ", backlog " + (t.backlog ? std::to_string(*t.backlog) + " records"
                                    : std::string("unknown (no leader reports it)"));
  line += ", dead letters " + std::to_string(t.dead_letters);
  if (t.pending_conflicts > 0) {
    line += ", pending conflicts " + std::to_string(t.pending_conflicts);
  }
  if (!t.last_error.empty()) line += ", last error: " + t.last_error;
  return line;
}

void Print(const ClusterStatusReport& r) {
  std::cout << "Cluster: " << r.cluster << "\n";
  for (const NodeStatus& n : r.nodes) std::cout << NodeLine(n, r.server_now_micros) << "\n";
  if (!r.lease.present) {
    std::cout << "Lease: none yet (no node has led this cluster)\n";
  } else if (r.lease.live) {
    std::cout << "Lease: epoch " << r.lease.epoch << ", held by " << r.lease.leader_id
              << ", expires in "
              << Duration(static_cast<double>(r.lease.expires_at_micros - r.server_now_micros) /
                          1e6)
              << "\n";
  } else {
    std::cout << "Lease: expired (last held by " << r.lease.leader_id << ", epoch " << r.lease.epoch
              << "): no node leads\n";
  }
  std::cout << "Last Sync: "
            << (r.last_sync_micros
                    ? shipper::FormatAgo(
                          static_cast<double>(r.server_now_micros - *r.last_sync_micros) / 1e6)
                    : std::string("never"))
            << "\n";
  std::cout << "Conflicts: " << r.pending_conflicts << "\n";
  std::cout << "Tenants: " << r.tenants.size() << "\n";
  for (const TenantStatus& t : r.tenants) std::cout << TenantLine(t) << "\n";
}

int Run(const StatusArgs& a, CliContext* ctx) {
  auto url = ResolveDatabaseUrl({"--to", a.to, "--to-file", a.to_file, "DATABASE_URL"}, ctx);
  if (!url.ok()) {
    std::cerr << "owsync status: " << url.status().ToString() << "\n";
    return 2;
  }
  std::string cluster = a.cluster;
  if (cluster.empty()) cluster = ctx->getenv("CLUSTER_NAME").value_or("");
  shipper::PgConnectOptions o;
  o.application_name = "owsync status";
  auto conn =
      shipper::PgConnection::Connect(ctx->clock, *url, Deadline::After(ctx->clock, 10'000'000), o);
  if (!conn.ok()) {
    std::cerr << "owsync status: cannot connect to PostgreSQL: " << conn.status().ToString()
              << "\n";
    return 1;
  }
  auto report =
      shipper::ClusterStatus::Read(&*conn, cluster, Deadline::After(ctx->clock, 30'000'000));
  if (!report.ok()) {
    std::cerr << "owsync status: " << report.status().ToString() << "\n";
    return 1;
  }
  if (a.json) {
    std::cout << report->ToJson().dump(2) << "\n";
  } else {
    Print(*report);
  }
  return 0;
}

}  // namespace

void AddStatusCommand(CLI::App* app, CliContext* ctx) {
  auto args = std::make_shared<StatusArgs>();
  CLI::App* cmd = app->add_subcommand(
      "status",
      "Show the HA pair (leader, standby, heartbeats, lease) and every tenant's acked offset, "
      "lag, backlog and dead letters, read from PostgreSQL directly (works with both nodes "
      "down). The URL comes from --to-file, DATABASE_URL or DATABASE_URL_FILE (the host's "
      "runtime role); the cluster from --cluster, CLUSTER_NAME, or the role's host.");
  cmd->add_option("--to", args->to, "PostgreSQL URL without a password");
  cmd->add_option("--to-file", args->to_file, "File holding the PostgreSQL URL");
  cmd->add_option("--cluster", args->cluster, "Cluster (default CLUSTER_NAME, else the role's)");
  cmd->add_flag("--json", args->json, "Print the JSON of GET /api/v1/cluster/status");
  cmd->callback([args, ctx] { ctx->exit_code = Run(*args, ctx); });
}

}  // namespace owsync::cli
