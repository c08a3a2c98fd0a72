// ClusterStatus against a real PostgreSQL, read as a host role (row-level security applies):
// node states from heartbeat rows and the lease, per-tenant offsets, backlog, lag, dead
// letters and pending conflicts, and nothing of another cluster.
#include <gtest/gtest.h>

#include "shipper/cluster_status.h"
#include "tests/pg_test_env.h"

namespace owsync::shipper {
namespace {

using nlohmann::json;
using tests::PgTestEnv;

class ClusterStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = PgTestEnv::Get();
    ASSERT_NE(env_, nullptr);
    auto db = env_->CreateDatabase("cstatus");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    auto host = env_->AddHost(db_, "cs-host");
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    host_ = *host;
    auto admin = env_->ConnectAdmin(db_.admin_url);
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    admin_.emplace(std::move(admin).value());
    auto conn = PgConnection::Connect(env_->clock(), host_.url, In());
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_.emplace(std::move(conn).value());
  }
  Deadline In() { return Deadline::After(env_->clock(), 10'000'000); }
  void AsHost(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
    auto res = conn_->ExecParams(sql, params, In());
    ASSERT_TRUE(res.ok()) << res.status().ToString() << "\nin: " << sql;
  }
  void AsAdmin(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
    auto res = admin_->ExecParams(sql, params, In());
    ASSERT_TRUE(res.ok()) << res.status().ToString() << "\nin: " << sql;
  }
  // A lease row held by `leader` for `seconds` more (negative: expired that long ago).
  void Lease(const std::string& leader, int seconds) {
    AsHost(
        "INSERT INTO sync_metadata.leader_election (cluster_name, leader_id, leader_host_id, "
        "  expires_at, lease_expires_at) VALUES ($1, $2, "
        "  sync_metadata.host_id_for_role(current_user), LOCALTIMESTAMP + interval '1 hour', "
        "  now() + make_interval(secs => $3::int)) "
        "ON CONFLICT (cluster_name) DO UPDATE SET leader_id = EXCLUDED.leader_id, "
        "  lease_expires_at = EXCLUDED.lease_expires_at",
        {host_.cluster, leader, std::to_string(seconds)});
  }
  // A heartbeat row written `age` seconds ago by `node` as `role`, with 1 s heartbeats.
  void Heartbeat(const std::string& role, const std::string& node, bool is_leader, double age,
                 const std::string& status = "running", json details = json::object()) {
    details["heartbeat_interval_seconds"] = 1.0;
    AsHost(
        "INSERT INTO sync_metadata.cluster_nodes (cluster_name, node_role, node_id, host_id, "
        "  api_address, is_leader, epoch, last_heartbeat, status, details) VALUES ($1, $2, $3, "
        "  sync_metadata.host_id_for_role(current_user), '127.0.0.1:9443', $4::boolean, 7, "
        "  now() - make_interval(secs => $5::float8), $6, $7::jsonb) "
        "ON CONFLICT (cluster_name, node_role) DO UPDATE SET node_id = EXCLUDED.node_id, "
        "  is_leader = EXCLUDED.is_leader, last_heartbeat = EXCLUDED.last_heartbeat, "
        "  status = EXCLUDED.status, details = EXCLUDED.details",
        {host_.cluster, role, node, is_leader ? "true" : "false", std::to_string(age), status,
         details.dump()});
  }
  // A tenant of this host with its acked offset (committed `ago` seconds ago).
  void Tenant(const std::string& client, int64_t acked, int ago) {
    AsAdmin(
        "WITH d AS (INSERT INTO sync_metadata.client_deployments (host_id, client_name, "
        "  container_name) VALUES ($1::uuid, $2::text, 'openwebui-' || $2::text) "
        "  RETURNING deployment_id) "
        "INSERT INTO sync_metadata.tenant_offsets (client_name, deployment_id, acked_offset) "
        "SELECT $2::text, deployment_id, $3::bigint FROM d",
        {host_.host_id, client, std::to_string(acked)});
    // The offset row's trigger sets updated_at = now() on UPDATE: disable it to backdate.
    AsAdmin(
        "ALTER TABLE sync_metadata.tenant_offsets DISABLE TRIGGER trg_tenant_offsets_updated_at",
        {});
    AsAdmin(
        "UPDATE sync_metadata.tenant_offsets SET updated_at = now() - make_interval(secs => "
        "$2::int) WHERE client_name = $1",
        {client, std::to_string(ago)});
    AsAdmin("ALTER TABLE sync_metadata.tenant_offsets ENABLE TRIGGER trg_tenant_offsets_updated_at",
            {});
  }
  ClusterStatusReport Read(const std::string& cluster = "") {
    auto r = ClusterStatus::Read(&*conn_, cluster, In());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ClusterStatusReport{};
  }

  PgTestEnv* env_ = nullptr;
  tests::TestDatabase db_;
  tests::TestHost host_;
  std::optional<PgConnection> admin_;
  std::optional<PgConnection> conn_;
};

TEST_F(ClusterStatusTest, EmptyClusterShowsBothNodesMissingAndNoLease) {
  ClusterStatusReport r = Read();
  EXPECT_EQ(r.cluster, host_.cluster);
  EXPECT_FALSE(r.lease.present);
  ASSERT_EQ(r.nodes.size(), 2u);
  EXPECT_EQ(r.nodes[0].role, "primary");
  EXPECT_EQ(r.nodes[0].state, "missing");
  EXPECT_EQ(r.nodes[1].role, "secondary");
  EXPECT_EQ(r.nodes[1].state, "missing");
  EXPECT_TRUE(r.tenants.empty());
  EXPECT_FALSE(r.last_sync_micros.has_value());
  json j = r.ToJson();
  EXPECT_EQ(j["lease"]["leader_id"], nullptr);
  EXPECT_EQ(j["last_sync"], nullptr);
  EXPECT_EQ(j["nodes"][0]["node_id"], nullptr);
}

TEST_F(ClusterStatusTest, FreshHeartbeatsAndTheLiveLeaseMakeLeaderAndStandby) {
  Lease("node-p", 10);
  Heartbeat("primary", "node-p", true, 0.2);
  Heartbeat("secondary", "node-s", false, 0.5);
  ClusterStatusReport r = Read();
  ASSERT_TRUE(r.lease.present);
  EXPECT_TRUE(r.lease.live);
  EXPECT_EQ(r.lease.leader_id, "node-p");
  const NodeStatus* p = r.Node("primary");
  const NodeStatus* s = r.Node("secondary");
  ASSERT_NE(p, nullptr);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(p->state, "running");
  EXPECT_TRUE(p->leader);
  EXPECT_EQ(s->state, "running");
  EXPECT_FALSE(s->leader);
  EXPECT_EQ(s->heartbeat_interval_micros, 1'000'000);
  json j = r.ToJson();
  EXPECT_EQ(j["lease"]["leader_id"], "node-p");
  EXPECT_EQ(j["nodes"][0]["leadership"], "leader");
  EXPECT_EQ(j["nodes"][1]["leadership"], "standby");
  EXPECT_EQ(j["nodes"][0]["api_address"], "127.0.0.1:9443");
}

TEST_F(ClusterStatusTest, OldHeartbeatIsStaleAndAPlannedStopIsStopped) {
  Lease("node-s", 10);
  Heartbeat("primary", "node-p", false, 3.5);   // > 3 intervals of 1 s
  Heartbeat("secondary", "node-s", true, 2.5);  // < 3 intervals
  ClusterStatusReport r = Read();
  EXPECT_EQ(r.Node("primary")->state, "stale");
  EXPECT_EQ(r.Node("secondary")->state, "running");
  EXPECT_TRUE(r.Node("secondary")->leader);
  Heartbeat("primary", "node-p", false, 0.1, "stopped");
  EXPECT_EQ(Read().Node("primary")->state, "stopped");
}

TEST_F(ClusterStatusTest, LeaderClaimThatTheLeaseDoesNotBackIsStale) {
  Lease("node-p", -5);  // expired: nobody leads
  Heartbeat("primary", "node-p", true, 0.1);
  Heartbeat("secondary", "node-s", false, 0.1);
  ClusterStatusReport r = Read();
  EXPECT_FALSE(r.lease.live);
  EXPECT_EQ(r.Node("primary")->state, "stale");
  EXPECT_FALSE(r.Node("primary")->leader);
  EXPECT_EQ(r.Node("secondary")->state, "running");
  EXPECT_EQ(r.ToJson()["lease"]["leader_id"], nullptr);
  EXPECT_EQ(r.ToJson()["lease"]["last_holder"], "node-p");
}

TEST_F(ClusterStatusTest, TenantsShowOffsetsBacklogLagDeadLettersAndConflicts) {
  const std::string a = env_->UniqueName("ta");
  const std::string b = env_->UniqueName("tb");
  Tenant(a, 100, 120);
  Tenant(b, 50, 30);
  AsAdmin(
      "INSERT INTO sync_metadata.dead_letters (client_name, table_name, outbox_offset, "
      "raw_record, reason) VALUES ($1, 'chat', 3, '\\x00', 'bad'), ($1, 'chat', 4, '\\x00', 'bad')",
      {a});
  AsAdmin(
      "INSERT INTO sync_metadata.conflict_log (client_name, table_name, conflict_type, "
      "resolved_at) VALUES ($1, 'chat', 'update_conflict', NULL), ($1, 'chat', "
      "'update_conflict', LOCALTIMESTAMP), ($2, 'chat', 'update_conflict', NULL)",
      {a, b});
  // The leader's heartbeat knows the durable watermarks: a is caught up, b is 25 behind.
  json details = {
      {"tenants",
       json::array(
           {{{"client", a}, {"durable_offset", 100}, {"running", true}, {"last_error", nullptr}},
            {{"client", b},
             {"durable_offset", 75},
             {"running", true},
             {"last_error", "retrying"}}})}};
  Lease("node-p", 10);
  Heartbeat("primary", "node-p", true, 0.1, "running", details);
  ClusterStatusReport r = Read();
  ASSERT_EQ(r.tenants.size(), 2u);
  const TenantStatus& ta = r.tenants[0].client == a ? r.tenants[0] : r.tenants[1];
  const TenantStatus& tb = r.tenants[0].client == a ? r.tenants[1] : r.tenants[0];
  EXPECT_EQ(ta.acked_offset, 100u);
  EXPECT_EQ(ta.backlog, 0u);
  EXPECT_EQ(ta.lag_seconds, 0.0);
  EXPECT_EQ(ta.dead_letters, 2);
  EXPECT_EQ(ta.pending_conflicts, 1);
  EXPECT_TRUE(ta.shipping);
  EXPECT_EQ(tb.acked_offset, 50u);
  EXPECT_EQ(tb.durable_offset, 75u);
  EXPECT_EQ(tb.backlog, 25u);
  ASSERT_TRUE(tb.lag_seconds.has_value());
  EXPECT_NEAR(*tb.lag_seconds, 30, 5);
  EXPECT_EQ(tb.last_error, "retrying");
  EXPECT_EQ(r.pending_conflicts, 2);
  EXPECT_EQ(r.dead_letters, 2);
  ASSERT_TRUE(r.last_sync_micros.has_value());
  EXPECT_NEAR(static_cast<double>(r.server_now_micros - *r.last_sync_micros) / 1e6, 30, 5);

  // Without a leader nobody reports the backlog: unknown, and lag counts from the last commit.
  Lease("node-p", -1);
  r = Read();
  const TenantStatus& ta2 = r.tenants[0].client == a ? r.tenants[0] : r.tenants[1];
  EXPECT_FALSE(ta2.backlog.has_value());
  ASSERT_TRUE(ta2.lag_seconds.has_value());
  EXPECT_NEAR(*ta2.lag_seconds, 120, 5);
  json j = r.ToJson();
  EXPECT_EQ(j["tenants"][0]["backlog"], nullptr);
  EXPECT_EQ(j["pending_conflicts"], 2);
}

TEST_F(ClusterStatusTest, AnotherClusterIsNeitherReadableNorShown) {
  auto other = env_->AddHost(db_, "cs-other");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  auto conn = PgConnection::Connect(env_->clock(), other->url, In());
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  auto res = conn->ExecParams(
      "INSERT INTO sync_metadata.cluster_nodes (cluster_name, node_role, node_id, host_id) "
      "VALUES ($1, 'primary', 'other-node', sync_metadata.host_id_for_role(current_user))",
      {other->cluster}, In());
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  // A row naming our cluster is refused to the other host (RLS).
  res = conn->ExecParams(
      "INSERT INTO sync_metadata.cluster_nodes (cluster_name, node_role, node_id, host_id) "
      "VALUES ($1, 'secondary', 'evil', sync_metadata.host_id_for_role(current_user))",
      {host_.cluster}, In());
  EXPECT_FALSE(res.ok());
  ClusterStatusReport r = Read();
  EXPECT_EQ(r.Node("primary")->state, "missing");
  // Asking for the other cluster by name shows nothing of it either.
  ClusterStatusReport o = Read(other->cluster);
  EXPECT_EQ(o.Node("primary")->state, "missing");
}

TEST_F(ClusterStatusTest, ApiAddressOfNamesTheNodesHeartbeatAddress) {
  Heartbeat("primary", "node-p", true, 0.1);
  auto a = ClusterStatus::ApiAddressOf(&*conn_, host_.cluster, "node-p", In());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, "127.0.0.1:9443");
  auto none = ClusterStatus::ApiAddressOf(&*conn_, host_.cluster, "nobody", In());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, "");
}

TEST(ClusterStatusFormatTest, IsoUtcAndAgo) {
  EXPECT_EQ(FormatIsoUtc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIsoUtc(1'795'000'000'123'456), "2026-11-18T11:06:40.123Z");
  EXPECT_EQ(FormatAgo(0.3), "just now");
  EXPECT_EQ(FormatAgo(1), "1 second ago");
  EXPECT_EQ(FormatAgo(42), "42 seconds ago");
  EXPECT_EQ(FormatAgo(125), "2 minutes ago");
  EXPECT_EQ(FormatAgo(7200), "2 hours ago");
  EXPECT_EQ(FormatAgo(86400 * 3), "3 days ago");
}

}  // namespace
}  // namespace owsync::shipper
