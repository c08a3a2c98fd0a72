// Least privilege and host isolation in sync_metadata, exercised as real host roles logging in
// with the passwords `db add-host` generated. Host A and host B live in different clusters and
// each own one tenant with rows in every table; A must see and change only its own, whatever
// session settings it makes, directly or through the views.
#include <gtest/gtest.h>

#include <map>

#include "cli/db_admin.h"
#include "shipper/pg_connection.h"
#include "shipper/pg_error.h"
#include "tests/pg_test_env.h"
#include "util/scoped_temp_dir.h"

namespace owsync::cli {
namespace {

using shipper::Deadline;
using shipper::PgConnection;
using shipper::PgResult;
using shipper::SqlStateOf;
using tests::PgTestEnv;

struct Host {
  std::string name, cluster, role, password, host_id, client, deployment_id;
};

// Tables with rows of both hosts, and how to name B's rows in a WHERE clause.
struct TableKey {
  const char* table;
  const char* column;  // identifies the host or tenant
  bool by_host_id;     // column holds a host_id (else a client or cluster name)
};

constexpr TableKey kTables[] = {
    {"hosts", "host_id", true},
    {"client_deployments", "host_id", true},
    {"cache_events", "host_id", true},
    {"leader_election", "cluster_name", false},
    {"tenant_offsets", "client_name", false},
    {"sync_jobs", "client_name", false},
    {"conflict_log", "client_name", false},
    {"dead_letters", "client_name", false},
    {"drift_log", "client_name", false},
    {"cluster_nodes", "cluster_name", false},
};

class SecurityTest : public ::testing::Test {
 protected:
  // Shared by every test of the suite, built by the first one. Failures here fail each test
  // (never skip it).
  static Status SetUpShared() {
    PgTestEnv* env = PgTestEnv::Get();
    if (env == nullptr) return Status::Internal("no PgTestEnv");
    OWSYNC_ASSIGN_OR_RETURN(tests::TestDatabase db,
                            env->CreateDatabase("security", /*for_whole_run=*/true));
    db_ = new tests::TestDatabase(db);
    OWSYNC_ASSIGN_OR_RETURN(ScopedTempDir tmp, ScopedTempDir::Create("owsync-security-"));
    DbAdmin admin(env->fs(), env->clock(), env->logger());
    OWSYNC_RETURN_IF_ERROR(admin.Init(db_->admin_url).status());
    a_ = new Host();
    b_ = new Host();
    for (Host* h : {a_, b_}) {
      h->name = env->UniqueName(h == a_ ? "host-a" : "host-b");
      h->cluster = env->UniqueName(h == a_ ? "cluster-a" : "cluster-b");
      h->client = env->UniqueName(h == a_ ? "client_a" : "client_b");
      OWSYNC_ASSIGN_OR_RETURN(
          AddHostResult added,
          admin.AddHost(db_->admin_url, {h->name, h->cluster, "", tmp.Child(h->name)}));
      h->role = added.role;
      h->host_id = added.host_id;
      OWSYNC_ASSIGN_OR_RETURN(std::string pw, ReadFileToString(env->fs(), tmp.Child(h->name)));
      h->password = pw.substr(0, pw.size() - 1);
    }
    // Rows of both hosts in every table, written by the administrator.
    OWSYNC_ASSIGN_OR_RETURN(PgConnection conn, env->ConnectAdmin(db_->admin_url));
    for (Host* h : {a_, b_}) {
      OWSYNC_ASSIGN_OR_RETURN(
          PgResult res,
          conn.ExecParams(
              "WITH d AS (INSERT INTO sync_metadata.client_deployments "
              "  (host_id, client_name, container_name, sync_enabled) "
              "  VALUES ($1::uuid, $2::text, 'openwebui-' || $2::text, true) "
              "  RETURNING deployment_id), "
              "j AS (INSERT INTO sync_metadata.sync_jobs (deployment_id, client_name, "
              "  tables_total, tables_synced) SELECT deployment_id, $2::text, 10, 3 FROM d "
              "  RETURNING job_id), "
              "p AS (INSERT INTO sync_metadata.sync_progress (job_id, table_name) "
              "  SELECT job_id, 'chat' FROM j), "
              "o AS (INSERT INTO sync_metadata.tenant_offsets (client_name, deployment_id, "
              "  outbox_id, acked_offset, acked_epoch) "
              "  SELECT $2::text, deployment_id, 'ob-' || $2::text, 5, 1 FROM d), "
              "c AS (INSERT INTO sync_metadata.conflict_log (deployment_id, client_name, "
              "  table_name, conflict_type) SELECT deployment_id, $2::text, 'chat', "
              "  'update_conflict' FROM d), "
              "x AS (INSERT INTO sync_metadata.dead_letters (deployment_id, client_name, "
              "  table_name, outbox_offset, raw_record, reason) SELECT deployment_id, $2::text, "
              "  'chat', 3, '\\x00', 'test' FROM d), "
              "g AS (INSERT INTO sync_metadata.drift_log (deployment_id, client_name, "
              "  table_name, outbox_offset, key_range, rows_compared, missing, different, extra) "
              "  SELECT deployment_id, $2::text, 'chat', 4, '(first, last]', 1, 1, 0, 0 FROM d), "
              "e AS (INSERT INTO sync_metadata.cache_events (host_id, cache_key, action) "
              "  VALUES ($1::uuid, 'k', 'invalidate')), "
              "l AS (INSERT INTO sync_metadata.leader_election (cluster_name, leader_id, "
              "  leader_host_id, expires_at, lease_expires_at) VALUES ($3::text, $4::text, "
              "  $1::uuid, LOCALTIMESTAMP + interval '1 hour', now() + interval '1 hour')), "
              "n AS (INSERT INTO sync_metadata.cluster_nodes (cluster_name, node_role, node_id, "
              "  host_id, api_address, is_leader) VALUES ($3::text, 'primary', $4::text, "
              "  $1::uuid, '127.0.0.1:9443', true)) "
              "SELECT deployment_id FROM d",
              {h->host_id, h->client, h->cluster, h->name},
              Deadline::After(env->clock(), 30'000'000)));
      h->deployment_id = std::string(res.GetValue(0, 0));
    }
    return Status::OK();
  }
  static void TearDownTestSuite() {
    delete a_;
    delete b_;
    delete db_;
    a_ = b_ = nullptr;
    db_ = nullptr;
    shared_status_.reset();
  }

  void SetUp() override {
    env_ = PgTestEnv::Get();
    ASSERT_NE(env_, nullptr);
    if (!shared_status_.has_value()) shared_status_ = SetUpShared();
    ASSERT_TRUE(shared_status_->ok()) << "shared setup: " << shared_status_->ToString();
  }
  Deadline In(int64_t micros = 10'000'000) { return Deadline::After(env_->clock(), micros); }
  PgConnection ConnectAs(const Host& h) {
    auto conn =
        PgConnection::Connect(env_->clock(), env_->UrlFor(h.role, h.password, db_->name), In());
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    return std::move(conn).value();
  }
  PgConnection Admin() {
    auto conn = env_->ConnectAdmin(db_->admin_url);
    EXPECT_TRUE(conn.ok());
    return std::move(conn).value();
  }
  // The value naming host `h` in `key.column`.
  static std::string KeyOf(const Host& h, const TableKey& key) {
    if (key.by_host_id) return h.host_id;
    return std::string(key.column) == "cluster_name" ? h.cluster : h.client;
  }
  // Every row of B, as text, read by the administrator (to prove nothing of B changed).
  std::string SnapshotOfB() {
    PgConnection admin = Admin();
    std::string all;
    for (const TableKey& k : kTables) {
      auto res = admin.ExecParams(std::string("SELECT t::text FROM sync_metadata.") + k.table +
                                      " t WHERE " + k.column + "::text = $1 ORDER BY 1",
                                  {KeyOf(*b_, k)}, In());
      EXPECT_TRUE(res.ok()) << res.status().ToString();
      EXPECT_GT(res->rows(), 0) << k.table;
      for (int r = 0; r < res->rows(); ++r) all += std::string(res->GetValue(r, 0)) + "\n";
    }
    return all;
  }
  // What `conn` sees: per table, total rows and rows naming host `h`.
  void ExpectSeesOnly(PgConnection* conn, const Host* own, const std::string& context) {
    for (const Host* h : {a_, b_}) {
      const bool mine = (h == own);
      for (const TableKey& k : kTables) {
        auto res = conn->ExecParams(std::string("SELECT count(*) FROM sync_metadata.") + k.table +
                                        " WHERE " + k.column + "::text = $1",
                                    {KeyOf(*h, k)}, In());
        ASSERT_TRUE(res.ok()) << context << " " << k.table << ": " << res.status().ToString();
        if (mine) {
          EXPECT_NE(res->GetValue(0, 0), "0") << context << ": own rows of " << k.table;
        } else {
          EXPECT_EQ(res->GetValue(0, 0), "0") << context << ": sees other rows of " << k.table;
        }
      }
      auto progress = conn->ExecParams(
          "SELECT count(*) FROM sync_metadata.sync_progress p JOIN sync_metadata.sync_jobs j "
          "USING (job_id) WHERE j.client_name = $1",
          {h->client}, In());
      ASSERT_TRUE(progress.ok()) << progress.status().ToString();
      EXPECT_EQ(progress->GetValue(0, 0) != "0", mine) << context << ": sync_progress";
      for (const char* view : {"v_cluster_health", "v_active_sync_jobs", "v_recent_conflicts"}) {
        const std::string col =
            std::string(view) == "v_cluster_health" ? "host_id::text" : "client_name";
        auto res = conn->ExecParams(
            std::string("SELECT count(*) FROM sync_metadata.") + view + " WHERE " + col + " = $1",
            {std::string(view) == "v_cluster_health" ? h->host_id : h->client}, In());
        ASSERT_TRUE(res.ok()) << view << ": " << res.status().ToString();
        EXPECT_EQ(res->GetValue(0, 0) != "0", mine) << context << ": view " << view;
      }
    }
    // No row of any table or view names anything but `own` (or nothing at all for no host).
    auto total = conn->Exec("SELECT count(*) FROM sync_metadata.hosts", In());
    ASSERT_TRUE(total.ok());
    EXPECT_EQ(total->GetValue(0, 0), own ? "1" : "0") << context;
  }
  // Tries to change every row of B (by key and wholesale); nothing of B may change.
  void ExpectCannotTouchB(PgConnection* conn, const std::string& context) {
    const std::string before = SnapshotOfB();
    const std::vector<std::pair<const char*, std::string>> updates = {
        {"hosts", "UPDATE sync_metadata.hosts SET status = 'offline'"},
        {"client_deployments", "UPDATE sync_metadata.client_deployments SET sync_enabled = false"},
        {"cache_events", "UPDATE sync_metadata.cache_events SET processed_by = 'a'"},
        {"leader_election", "UPDATE sync_metadata.leader_election SET leader_id = 'evil'"},
        {"tenant_offsets", "UPDATE sync_metadata.tenant_offsets SET acked_offset = 999999"},
        {"sync_jobs", "UPDATE sync_metadata.sync_jobs SET status = 'failed'"},
        {"conflict_log", "UPDATE sync_metadata.conflict_log SET resolved_by = 'evil'"},
        {"dead_letters", "UPDATE sync_metadata.dead_letters SET reason = 'evil'"},
        {"drift_log", "UPDATE sync_metadata.drift_log SET missing = 99"},
        {"cluster_nodes", "UPDATE sync_metadata.cluster_nodes SET api_address = 'evil:1'"},
    };
    for (const TableKey& k : kTables) {
      for (const auto& [table, sql] : updates) {
        if (std::string(table) != k.table) continue;
        auto res =
            conn->ExecParams(sql + " WHERE " + k.column + "::text = $1", {KeyOf(*b_, k)}, In());
        ASSERT_TRUE(res.ok()) << context << ": " << sql << ": " << res.status().ToString();
        EXPECT_EQ(res->affected_rows(), 0) << context << ": " << sql;
      }
    }
    auto progress = conn->ExecParams(
        "UPDATE sync_metadata.sync_progress SET rows_failed = 99 "
        "WHERE job_id IN (SELECT job_id FROM sync_metadata.sync_jobs "
        "WHERE client_name = $1)",
        {b_->client}, In());
    ASSERT_TRUE(progress.ok()) << progress.status().ToString();
    EXPECT_EQ(progress->affected_rows(), 0);
    EXPECT_EQ(SnapshotOfB(), before) << context << ": B's rows changed";
  }

  static std::optional<Status> shared_status_;
  static tests::TestDatabase* db_;
  static Host* a_;
  static Host* b_;
  PgTestEnv* env_ = nullptr;
};

std::optional<Status> SecurityTest::shared_status_;
tests::TestDatabase* SecurityTest::db_ = nullptr;
Host* SecurityTest::a_ = nullptr;
Host* SecurityTest::b_ = nullptr;

TEST_F(SecurityTest, DestructiveStatementsFailWithInsufficientPrivilege) {
  PgConnection a = ConnectAs(*a_);
  const char* const statements[] = {
      "DELETE FROM sync_metadata.tenant_offsets",
      "DELETE FROM sync_metadata.hosts",
      "TRUNCATE sync_metadata.dead_letters",
      "TRUNCATE sync_metadata.hosts CASCADE",
      "DROP TABLE sync_metadata.conflict_log",
      "DROP VIEW sync_metadata.v_cluster_health",
      "DROP SCHEMA sync_metadata CASCADE",
      "DROP SEQUENCE sync_metadata.leader_epoch_seq",
      "DROP FUNCTION sync_metadata.host_id_for_role(name)",
      "CREATE TABLE sync_metadata.evil (x int)",
      "CREATE TABLE public.evil (x int)",
      "CREATE TABLE evil (x int)",
      "CREATE VIEW sync_metadata.evil AS SELECT 1",
      "CREATE FUNCTION sync_metadata.evil() RETURNS int LANGUAGE sql AS 'SELECT 1'",
      "CREATE SCHEMA evil",
      "ALTER TABLE sync_metadata.hosts ADD COLUMN evil int",
      "ALTER TABLE sync_metadata.tenant_offsets DISABLE ROW LEVEL SECURITY",
      "ALTER TABLE sync_metadata.tenant_offsets OWNER TO CURRENT_USER",
      "ALTER VIEW sync_metadata.v_cluster_health RESET (security_invoker)",
      "CREATE INDEX evil ON sync_metadata.hosts (hostname)",
      "CREATE TRIGGER evil BEFORE UPDATE ON sync_metadata.hosts FOR EACH ROW "
      "EXECUTE FUNCTION sync_metadata.set_updated_at()",
      "INSERT INTO sync_metadata.hosts (hostname, cluster_name, db_role) VALUES ('x', 'y', 'z')",
      "UPDATE sync_metadata.hosts SET cluster_name = 'other'",
      "UPDATE sync_metadata.hosts SET db_role = 'sync_service'",
      "SELECT setval('sync_metadata.leader_epoch_seq', 1)",
      "CREATE ROLE evil",
      "ALTER ROLE sync_service LOGIN",
      "ALTER ROLE CURRENT_USER BYPASSRLS",
  };
  for (const char* sql : statements) {
    auto res = a.Exec(sql, In());
    ASSERT_FALSE(res.ok()) << "allowed: " << sql;
    EXPECT_EQ(SqlStateOf(res.status()), "42501") << sql << " -> " << res.status().ToString();
    EXPECT_EQ(res.status().code(), StatusCode::kPermissionDenied) << sql;
  }
  // The same through the group role.
  ASSERT_TRUE(a.Exec("SET ROLE sync_service", In()).ok());
  for (const char* sql :
       {"DELETE FROM sync_metadata.tenant_offsets", "TRUNCATE sync_metadata.tenant_offsets",
        "DROP TABLE sync_metadata.hosts", "CREATE TABLE public.evil (x int)"}) {
    auto res = a.Exec(sql, In());
    ASSERT_FALSE(res.ok()) << "allowed as sync_service: " << sql;
    EXPECT_EQ(SqlStateOf(res.status()), "42501") << sql << " -> " << res.status().ToString();
  }
}

TEST_F(SecurityTest, StagingTablesAreAllowed) {
  PgConnection a = ConnectAs(*a_);
  auto res = a.Exec(
      "BEGIN; CREATE TEMPORARY TABLE staging (k text, v text) ON COMMIT DROP; "
      "INSERT INTO staging VALUES ('a', 'b'); SELECT count(*) FROM staging",
      In());
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->GetValue(0, 0), "1");
  EXPECT_TRUE(a.Exec("COMMIT", In()).ok());
}

TEST_F(SecurityTest, HostSeesOnlyItsOwnRowsDirectlyAndThroughViews) {
  PgConnection a = ConnectAs(*a_);
  ExpectSeesOnly(&a, a_, "as A");
  PgConnection b = ConnectAs(*b_);
  ExpectSeesOnly(&b, b_, "as B");
}

TEST_F(SecurityTest, SessionSettingsDoNotWidenWhatAHostSees) {
  PgConnection a = ConnectAs(*a_);
  const std::vector<std::string> settings = {
      "SET app.current_host_id = '" + b_->host_id + "'",
      "SET app.host_id = '" + b_->host_id + "'",
      "SET app.cluster_name = '" + b_->cluster + "'",
      "SET app.client_name = '" + b_->client + "'",
      "SET request.jwt.claim.sub = '" + b_->host_id + "'",
      "SET application_name = '" + b_->role + "'",
      "SET search_path = pg_temp, public, sync_metadata",
      "SET row_security = off",
  };
  for (const std::string& set : settings) {
    auto res = a.Exec(set, In());
    if (set == "SET row_security = off") {
      // With row_security off, a query that policies would filter errors instead (42501).
      ASSERT_TRUE(res.ok()) << res.status().ToString();
      auto q = a.Exec("SELECT count(*) FROM sync_metadata.hosts", In());
      ASSERT_FALSE(q.ok());
      EXPECT_EQ(SqlStateOf(q.status()), "42501") << q.status().ToString();
      ASSERT_TRUE(a.Exec("RESET row_security", In()).ok());
      continue;
    }
    ASSERT_TRUE(res.ok()) << set << ": " << res.status().ToString();
    ExpectSeesOnly(&a, a_, "after " + set);
    ExpectCannotTouchB(&a, "after " + set);
  }
  // The helpers answer only for the login role's own identity.
  auto leak = a.ExecParams(
      "SELECT sync_metadata.host_id_for_role($1), "
      "sync_metadata.cluster_for_role($1)",
      {b_->role}, In());
  ASSERT_TRUE(leak.ok()) << leak.status().ToString();
  EXPECT_TRUE(leak->IsNull(0, 0));
  EXPECT_TRUE(leak->IsNull(0, 1));
  // Impersonation is refused.
  auto as_b = a.Exec("SET ROLE " + b_->role, In());
  EXPECT_EQ(SqlStateOf(as_b.status()), "42501") << as_b.status().ToString();
  auto session = a.Exec("SET SESSION AUTHORIZATION " + b_->role, In());
  EXPECT_EQ(SqlStateOf(session.status()), "42501") << session.status().ToString();
}

TEST_F(SecurityTest, TheGroupRoleMapsToNoHostAndSeesNothing) {
  PgConnection a = ConnectAs(*a_);
  ASSERT_TRUE(a.Exec("SET ROLE sync_service", In()).ok());
  ExpectSeesOnly(&a, nullptr, "as sync_service");
  ExpectCannotTouchB(&a, "as sync_service");
  auto own = a.ExecParams(
      "UPDATE sync_metadata.tenant_offsets SET acked_offset = 77 "
      "WHERE client_name = $1",
      {a_->client}, In());
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->affected_rows(), 0) << "not even A's rows";
}

TEST_F(SecurityTest, HostCannotUpdateOrCreateRowsOfAnotherHost) {
  PgConnection a = ConnectAs(*a_);
  ExpectCannotTouchB(&a, "as A");
  const std::string before = SnapshotOfB();
  // Rows that would belong to B are rejected by the policies' WITH CHECK (42501).
  const std::vector<std::pair<std::string, std::vector<std::optional<std::string>>>> writes = {
      {"INSERT INTO sync_metadata.client_deployments (host_id, client_name, container_name) "
       "VALUES ($1::uuid, 'stolen', 'stolen')",
       {b_->host_id}},
      {"UPDATE sync_metadata.client_deployments SET host_id = $1::uuid WHERE client_name = $2",
       {b_->host_id, a_->client}},
      {"INSERT INTO sync_metadata.tenant_offsets (client_name) VALUES ($1)", {b_->client}},
      {"INSERT INTO sync_metadata.tenant_offsets (client_name) VALUES ($1) ON CONFLICT "
       "(client_name) DO UPDATE SET acked_offset = 0",
       {b_->client}},
      {"INSERT INTO sync_metadata.leader_election (cluster_name, leader_id, expires_at) "
       "VALUES ($1, 'evil', LOCALTIMESTAMP + interval '1 hour')",
       {b_->cluster}},
      {"UPDATE sync_metadata.leader_election SET leader_host_id = $1::uuid WHERE cluster_name = "
       "$2",
       {b_->host_id, a_->cluster}},
      {"INSERT INTO sync_metadata.cache_events (host_id, cache_key, action) "
       "VALUES ($1::uuid, 'k', 'refresh')",
       {b_->host_id}},
      {"INSERT INTO sync_metadata.conflict_log (client_name, table_name, conflict_type) "
       "VALUES ($1, 't', 'custom')",
       {b_->client}},
      {"INSERT INTO sync_metadata.dead_letters (client_name, deployment_id, table_name, "
       "outbox_offset, raw_record, reason) VALUES ($1, $2::uuid, 't', 1, '\\x00', 'r')",
       {a_->client, b_->deployment_id}},
      {"INSERT INTO sync_metadata.sync_jobs (client_name) VALUES ($1)", {b_->client}},
      {"INSERT INTO sync_metadata.cluster_nodes (cluster_name, node_role, node_id, host_id) "
       "VALUES ($1, 'secondary', 'evil', sync_metadata.host_id_for_role(current_user))",
       {b_->cluster}},
      {"INSERT INTO sync_metadata.cluster_nodes (cluster_name, node_role, node_id, host_id) "
       "VALUES ($1, 'secondary', 'evil', $2::uuid)",
       {a_->cluster, b_->host_id}},
  };
  for (const auto& [sql, params] : writes) {
    auto res = a.ExecParams(sql, params, In());
    ASSERT_FALSE(res.ok()) << "allowed: " << sql;
    EXPECT_EQ(SqlStateOf(res.status()), "42501") << sql << " -> " << res.status().ToString();
  }
  EXPECT_EQ(SnapshotOfB(), before);
}

// Registering a tenant is the administrator's: a host cannot squat a client name, not even
// one no host serves yet, and not for itself.
TEST_F(SecurityTest, HostCannotRegisterTenants) {
  PgConnection a = ConnectAs(*a_);
  auto res = a.ExecParams(
      "INSERT INTO sync_metadata.client_deployments (host_id, client_name, container_name) "
      "VALUES (sync_metadata.host_id_for_role(current_user), 'unused-name', 'unused-name')",
      {}, In());
  ASSERT_FALSE(res.ok()) << "a host registered a tenant";
  EXPECT_EQ(SqlStateOf(res.status()), "42501") << res.status().ToString();
}

TEST_F(SecurityTest, HostReadsAndUpdatesItsOwnRows) {
  PgConnection a = ConnectAs(*a_);
  struct Write {
    std::string sql;
    std::vector<std::optional<std::string>> params;
    long long rows;
  };
  const std::vector<Write> writes = {
      {"UPDATE sync_metadata.hosts SET last_heartbeat = LOCALTIMESTAMP, status = 'active'", {}, 1},
      {"UPDATE sync_metadata.client_deployments SET last_sync_status = 'success', "
       "last_sync_at = LOCALTIMESTAMP WHERE client_name = $1",
       {a_->client},
       1},
      {"UPDATE sync_metadata.tenant_offsets SET acked_offset = acked_offset + 10, "
       "acked_epoch = nextval('sync_metadata.leader_epoch_seq') WHERE client_name = $1 "
       "AND acked_epoch <= 1000000",
       {a_->client},
       1},
      {"INSERT INTO sync_metadata.leader_election (cluster_name, leader_id, leader_host_id, "
       "expires_at, lease_expires_at) VALUES ($1, 'node-1', $2::uuid, "
       "LOCALTIMESTAMP + interval '1 minute', now() + interval '30 seconds') "
       "ON CONFLICT (cluster_name) DO UPDATE SET epoch = nextval('sync_metadata.leader_epoch_seq'),"
       " lease_expires_at = EXCLUDED.lease_expires_at, heartbeat_count = "
       "sync_metadata.leader_election.heartbeat_count + 1",
       {a_->cluster, a_->host_id},
       1},
      {"INSERT INTO sync_metadata.conflict_log (deployment_id, client_name, table_name, "
       "conflict_type, resolution_strategy) VALUES ($1::uuid, $2, 'chat', 'update_conflict', "
       "'merge')",
       {a_->deployment_id, a_->client},
       1},
      {"INSERT INTO sync_metadata.dead_letters (client_name, deployment_id, table_name, "
       "outbox_offset, raw_record, reason) VALUES ($1, $2::uuid, 'chat', 9, '\\x01', 'bad')",
       {a_->client, a_->deployment_id},
       1},
      {"INSERT INTO sync_metadata.cache_events (host_id, cache_key, action) "
       "VALUES ($1::uuid, 'state:x', 'refresh')",
       {a_->host_id},
       1},
      {"INSERT INTO sync_metadata.sync_jobs (deployment_id, client_name, triggered_by) "
       "VALUES ($1::uuid, $2, 'own-rows-test')",
       {a_->deployment_id, a_->client},
       1},
      {"UPDATE sync_metadata.sync_jobs SET status = 'success' WHERE client_name = $1 AND "
       "triggered_by = 'own-rows-test'",
       {a_->client},
       1},
      {"UPDATE sync_metadata.sync_progress SET rows_processed = 5", {}, 1},
      {"INSERT INTO sync_metadata.cluster_nodes (cluster_name, node_role, node_id, host_id, "
       "is_leader, details) VALUES ($1, 'primary', 'node-1', "
       "sync_metadata.host_id_for_role(current_user), false, '{\"tenants\": []}') "
       "ON CONFLICT (cluster_name, node_role) DO UPDATE SET node_id = EXCLUDED.node_id, "
       "last_heartbeat = now(), details = EXCLUDED.details",
       {a_->cluster},
       1},
  };
  for (const Write& w : writes) {
    auto res = a.ExecParams(w.sql, w.params, In());
    ASSERT_TRUE(res.ok()) << w.sql << ": " << res.status().ToString();
    EXPECT_EQ(res->affected_rows(), w.rows) << w.sql;
  }
  // The job trigger filled completed_at and duration; the offset moved.
  auto job = a.ExecParams(
      "SELECT completed_at IS NOT NULL, duration_seconds IS NOT NULL "
      "FROM sync_metadata.sync_jobs WHERE client_name = $1",
      {a_->client}, In());
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->GetValue(0, 0), "t");
  EXPECT_EQ(job->GetValue(0, 1), "t");
  auto lease = a.ExecParams(
      "SELECT node_role FROM sync_metadata.v_cluster_health "
      "WHERE host_id = $1::uuid",
      {a_->host_id}, In());
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  ASSERT_EQ(lease->rows(), 1);
  EXPECT_EQ(lease->GetValue(0, 0), "leader");
}

TEST_F(SecurityTest, IsolationHoldsThroughATransactionPooler) {
  auto bouncer = env_->StartPgBouncer();
  ASSERT_TRUE(bouncer.ok()) << bouncer.status().ToString();
  auto a = PgConnection::Connect(env_->clock(),
                                 (*bouncer)->UrlFor(a_->role, a_->password, db_->name), In());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ExpectSeesOnly(&*a, a_, "as A through pgbouncer");
  auto del = a->Exec("DELETE FROM sync_metadata.tenant_offsets", In());
  EXPECT_EQ(SqlStateOf(del.status()), "42501");
}

}  // namespace
}  // namespace owsync::cli
