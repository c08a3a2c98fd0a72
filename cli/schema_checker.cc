#include "cli/schema_checker.h"

#include <map>
#include <set>
#include <utility>

namespace owsync::cli {
namespace {

using shipper::Deadline;
using shipper::PgConnection;
using shipper::PgResult;

struct TableSpec {
  const char* name;
  std::vector<std::pair<const char*, const char*>> columns;  // name, format_type()
};

const char* const kUuid = "uuid";
const char* const kTs = "timestamp without time zone";
const char* const kTstz = "timestamp with time zone";
const char* const kInt = "integer";
const char* const kBigint = "bigint";
const char* const kJsonb = "jsonb";
const char* const kText = "text";
const char* const kV20 = "character varying(20)";
const char* const kV50 = "character varying(50)";
const char* const kV100 = "character varying(100)";
const char* const kV255 = "character varying(255)";

const std::vector<TableSpec>& Tables() {
  static const std::vector<TableSpec> kTables = {
      {"hosts",
       {{"host_id", kUuid},
        {"hostname", kV255},
        {"ip_address", "inet"},
        {"cluster_name", kV100},
        {"status", kV20},
        {"last_heartbeat", kTs},
        {"created_at", kTs},
        {"updated_at", kTs},
        {"metadata", kJsonb},
        {"db_role", "name"}}},
      {"client_deployments",
       {{"deployment_id", kUuid},
        {"host_id", kUuid},
        {"client_name", kV100},
        {"container_name", kV255},
        {"fqdn", kV255},
        {"port", kInt},
        {"database_type", kV20},
        {"sync_enabled", "boolean"},
        {"sync_interval", kInt},
        {"last_sync_at", kTs},
        {"last_sync_status", kV20},
        {"next_sync_at", kTs},
        {"status", kV20},
        {"created_at", kTs},
        {"updated_at", kTs},
        {"config", kJsonb}}},
      {"leader_election",
       {{"cluster_name", kV100},
        {"leader_id", kV100},
        {"leader_host_id", kUuid},
        {"acquired_at", kTs},
        {"expires_at", kTs},
        {"heartbeat_count", kInt},
        {"epoch", kBigint},
        {"lease_expires_at", kTstz},
        {"lock_pid", kInt}}},
      {"cluster_nodes",
       {{"cluster_name", kV100},
        {"node_role", kV20},
        {"node_id", kV100},
        {"host_id", kUuid},
        {"api_address", kText},
        {"is_leader", "boolean"},
        {"epoch", kBigint},
        {"started_at", kTstz},
        {"last_heartbeat", kTstz},
        {"status", kV20},
        {"details", kJsonb}}},
      {"conflict_log",
       {{"log_id", kUuid},
        {"deployment_id", kUuid},
        {"client_name", kV100},
        {"table_name", kV100},
        {"record_id", kText},
        {"conflict_type", kV50},
        {"source_data", kJsonb},
        {"target_data", kJsonb},
        {"resolution_strategy", kV50},
        {"resolved_data", kJsonb},
        {"detected_at", kTs},
        {"resolved_at", kTs},
        {"resolved_by", kV100},
        {"resolution_notes", kText},
        {"sync_job_id", kUuid}}},
      {"cache_events",
       {{"event_id", kUuid},
        {"host_id", kUuid},
        {"cache_key", kV255},
        {"action", kV20},
        {"created_at", kTs},
        {"processed_at", kTs},
        {"processed_by", kV100}}},
      {"sync_jobs",
       {{"job_id", kUuid},
        {"deployment_id", kUuid},
        {"client_name", kV100},
        {"started_at", kTs},
        {"completed_at", kTs},
        {"status", kV20},
        {"tables_synced", kInt},
        {"tables_total", kInt},
        {"rows_synced", kInt},
        {"rows_failed", kInt},
        {"duration_seconds", "numeric(10,2)"},
        {"bytes_transferred", kBigint},
        {"error_message", kText},
        {"error_details", kJsonb},
        {"conflicts_detected", kInt},
        {"conflicts_resolved", kInt},
        {"triggered_by", kV100},
        {"sync_type", kV20},
        {"metadata", kJsonb}}},
      {"sync_progress",
       {{"progress_id", kUuid},
        {"job_id", kUuid},
        {"table_name", kV100},
        {"rows_total", kInt},
        {"rows_processed", kInt},
        {"rows_failed", kInt},
        {"started_at", kTs},
        {"updated_at", kTs},
        {"completed_at", kTs},
        {"status", kV20},
        {"error_message", kText}}},
      {"tenant_offsets",
       {{"client_name", kV100},
        {"deployment_id", kUuid},
        {"outbox_id", kText},
        {"acked_offset", kBigint},
        {"acked_epoch", kBigint},
        {"updated_at", kTstz},
        {"schema_version", kBigint},
        {"acked_fingerprint", kText},
        {"verified_ranges", kBigint},
        {"verified_at", kTstz}}},
      {"dead_letters",
       {{"id", kUuid},
        {"client_name", kV100},
        {"deployment_id", kUuid},
        {"table_name", kText},
        {"record_key", kText},
        {"outbox_id", kText},
        {"outbox_offset", kBigint},
        {"raw_record", "bytea"},
        {"reason", kText},
        {"sqlstate", "character varying(5)"},
        {"created_at", kTstz},
        {"retried_at", kTstz},
        {"retry_count", kInt}}},
      {"drift_log",
       {{"id", kUuid},
        {"client_name", kV100},
        {"deployment_id", kUuid},
        {"table_name", kText},
        {"outbox_id", kText},
        {"outbox_offset", kBigint},
        {"key_range", kText},
        {"rows_compared", kInt},
        {"missing", kInt},
        {"different", kInt},
        {"extra", kInt},
        {"record_keys", "text[]"},
        {"found_at", kTstz}}},
  };
  return kTables;
}

const char* const kViews[] = {"v_active_sync_jobs", "v_recent_conflicts", "v_cluster_health"};
const char* const kTriggers[][2] = {{"hosts", "trg_hosts_updated_at"},
                                    {"client_deployments", "trg_client_deployments_updated_at"},
                                    {"sync_progress", "trg_sync_progress_updated_at"},
                                    {"tenant_offsets", "trg_tenant_offsets_updated_at"},
                                    {"sync_jobs", "trg_sync_jobs_finish"}};
const char* const kHelpers[] = {"host_id_for_role", "cluster_for_role"};
// Tables the runtime writes (SELECT, INSERT, UPDATE); hosts is read and partly updated only,
// client_deployments read and updated only (tenants are registered by the administrator).
const char* const kWritable[] = {"leader_election", "conflict_log",  "cache_events",
                                 "sync_jobs",       "sync_progress", "tenant_offsets",
                                 "dead_letters",    "drift_log",     "cluster_nodes"};

class Checker {
 public:
  Checker(PgConnection* conn, Deadline deadline) : conn_(conn), deadline_(deadline) {}

  Result<PgResult> Query(const std::string& sql,
                         const std::vector<std::optional<std::string>>& params = {}) {
    return conn_->ExecParams(sql, params, deadline_);
  }
  void Expect(bool ok, std::string problem) {
    ++report_.checks;
    if (!ok) report_.problems.push_back(std::move(problem));
  }
  SchemaCheckReport& report() { return report_; }

  Status CheckObjects();
  Status CheckRoles();

 private:
  Status CheckRoleLimits(const std::string& role, bool is_group);
  PgConnection* conn_;
  Deadline deadline_;
  SchemaCheckReport report_;
};

Status Checker::CheckObjects() {
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult schema,
      Query("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'sync_metadata'"));
  Expect(schema.rows() == 1, "missing schema sync_metadata (run: owsync db init)");
  if (schema.rows() != 1) return Status::OK();

  OWSYNC_ASSIGN_OR_RETURN(
      PgResult rels,
      Query("SELECT c.relname, c.relkind, c.relrowsecurity, "
            "  (SELECT count(*) FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid), "
            "  coalesce((SELECT option_value FROM pg_catalog.pg_options_to_table(c.reloptions) "
            "            WHERE option_name = 'security_invoker'), '') "
            "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            "  ON n.oid = c.relnamespace AND n.nspname = 'sync_metadata'"));
  struct Rel {
    std::string kind;
    bool rls = false;
    int policies = 0;
    std::string invoker;
  };
  std::map<std::string, Rel> by_name;
  for (int r = 0; r < rels.rows(); ++r) {
    by_name[std::string(rels.GetValue(r, 0))] = {
        std::string(rels.GetValue(r, 1)), rels.GetValue(r, 2) == "t",
        std::stoi(std::string(rels.GetValue(r, 3))), std::string(rels.GetValue(r, 4))};
  }
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult cols,
      Query("SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) "
            "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'sync_metadata' AND a.attnum > 0 AND NOT a.attisdropped"));
  std::map<std::pair<std::string, std::string>, std::string> col_types;
  for (int r = 0; r < cols.rows(); ++r) {
    col_types[{std::string(cols.GetValue(r, 0)), std::string(cols.GetValue(r, 1))}] =
        std::string(cols.GetValue(r, 2));
  }
  for (const TableSpec& t : Tables()) {
    const std::string qname = std::string("sync_metadata.") + t.name;
    auto it = by_name.find(t.name);
    Expect(it != by_name.end() && it->second.kind == "r", "missing table " + qname);
    if (it == by_name.end()) continue;
    Expect(it->second.rls, "row-level security is not enabled on " + qname);
    Expect(it->second.policies > 0, "no row-level security policy on " + qname);
    for (const auto& [col, type] : t.columns) {
      auto c = col_types.find({t.name, col});
      if (c == col_types.end()) {
        Expect(false, "missing column " + qname + "." + col);
      } else {
        Expect(c->second == type,
               "column " + qname + "." + col + " has type " + c->second + ", expected " + type);
      }
    }
  }
  for (const char* v : kViews) {
    const std::string qname = std::string("sync_metadata.") + v;
    auto it = by_name.find(v);
    Expect(it != by_name.end() && it->second.kind == "v", "missing view " + qname);
    if (it == by_name.end()) continue;
    const std::string& inv = it->second.invoker;
    Expect(inv == "true" || inv == "on" || inv == "1" || inv == "yes",
           "view " + qname + " is not security_invoker (it would bypass row-level security)");
  }
  auto seq = by_name.find("leader_epoch_seq");
  Expect(seq != by_name.end() && seq->second.kind == "S",
         "missing sequence sync_metadata.leader_epoch_seq");
  auto role_index = by_name.find("hosts_db_role_key");
  Expect(role_index != by_name.end() && role_index->second.kind == "i",
         "missing unique index sync_metadata.hosts_db_role_key");

  for (const auto& [table, trigger] : kTriggers) {
    OWSYNC_ASSIGN_OR_RETURN(
        PgResult t, Query("SELECT 1 FROM pg_catalog.pg_trigger WHERE tgname = $1 AND tgrelid = "
                          "to_regclass('sync_metadata.' || $2)",
                          {trigger, table}));
    Expect(t.rows() == 1, std::string("missing trigger ") + trigger + " on sync_metadata." + table);
  }
  for (const char* fn : kHelpers) {
    OWSYNC_ASSIGN_OR_RETURN(
        PgResult f, Query("SELECT p.prosecdef, p.provolatile, "
                          "  coalesce(array_to_string(p.proconfig, ','), '') LIKE '%search_path=%' "
                          "FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n "
                          "  ON n.oid = p.pronamespace AND n.nspname = 'sync_metadata' "
                          "WHERE p.proname = $1",
                          {fn}));
    const std::string name = std::string("sync_metadata.") + fn + "(name)";
    Expect(f.rows() == 1, "missing function " + name);
    if (f.rows() != 1) continue;
    Expect(f.GetValue(0, 0) == "t", "function " + name + " is not SECURITY DEFINER");
    Expect(f.GetValue(0, 1) == "s", "function " + name + " is not STABLE");
    Expect(f.GetValue(0, 2) == "t", "function " + name + " does not pin its search_path");
  }
  return Status::OK();
}

// Attributes, CREATE anywhere, ownership, and forbidden table privileges of one role.
Status Checker::CheckRoleLimits(const std::string& role, bool is_group) {
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult attrs,
      Query("SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, "
            "rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = $1",
            {role}));
  if (attrs.rows() != 1) return Status::OK();
  const char* const names[] = {"SUPERUSER", "CREATEDB", "CREATEROLE", "REPLICATION", "BYPASSRLS"};
  for (int i = 0; i < 5; ++i) {
    Expect(attrs.GetValue(0, i) != "t", "role " + role + " has " + names[i]);
  }
  if (is_group) Expect(attrs.GetValue(0, 5) != "t", "role " + role + " can log in (LOGIN)");

  OWSYNC_ASSIGN_OR_RETURN(
      PgResult forbidden,
      Query("SELECT c.relname, p.priv FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "  AND n.nspname = 'sync_metadata' AND c.relkind IN ('r', 'v', 'p') "
            "CROSS JOIN (VALUES ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) p(priv) "
            "WHERE pg_catalog.has_table_privilege($1, c.oid, p.priv) "
            "UNION ALL SELECT 'hosts', p.priv "
            "FROM (VALUES ('INSERT'), ('UPDATE')) p(priv) "
            "WHERE to_regclass('sync_metadata.hosts') IS NOT NULL "
            "  AND pg_catalog.has_table_privilege($1, 'sync_metadata.hosts', p.priv) "
            "UNION ALL SELECT 'client_deployments', 'INSERT' "
            "WHERE to_regclass('sync_metadata.client_deployments') IS NOT NULL "
            "  AND pg_catalog.has_table_privilege($1, 'sync_metadata.client_deployments', "
            "  'INSERT') "
            "ORDER BY 1, 2",
            {role}));
  ++report_.checks;
  for (int r = 0; r < forbidden.rows(); ++r) {
    report_.problems.push_back("role " + role + " holds " + std::string(forbidden.GetValue(r, 1)) +
                               " on sync_metadata." + std::string(forbidden.GetValue(r, 0)));
  }
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult creates,
      Query("SELECT n.nspname FROM pg_catalog.pg_namespace n "
            "WHERE n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast%' "
            "  AND pg_catalog.has_schema_privilege($1, n.oid, 'CREATE') ORDER BY 1",
            {role}));
  ++report_.checks;
  for (int r = 0; r < creates.rows(); ++r) {
    report_.problems.push_back("role " + role + " may CREATE in schema " +
                               std::string(creates.GetValue(r, 0)));
  }
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult dbcreate,
      Query("SELECT pg_catalog.has_database_privilege($1, pg_catalog.current_database(), "
            "'CREATE')",
            {role}));
  Expect(dbcreate.GetValue(0, 0) != "t", "role " + role + " may CREATE schemas in this database");
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult owned,
      Query("WITH r AS (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1) "
            "SELECT 'relation ' || c.oid::regclass::text FROM pg_catalog.pg_class c, r "
            "  WHERE c.relowner = r.oid AND c.relpersistence <> 't' "
            "UNION ALL SELECT 'schema ' || n.nspname FROM pg_catalog.pg_namespace n, r "
            "  WHERE n.nspowner = r.oid "
            "UNION ALL SELECT 'function ' || p.oid::regprocedure::text "
            "  FROM pg_catalog.pg_proc p, r WHERE p.proowner = r.oid "
            "  AND p.pronamespace NOT IN (SELECT oid FROM pg_catalog.pg_namespace "
            "                             WHERE nspname LIKE 'pg\\_temp\\_%') "
            "UNION ALL SELECT 'database ' || d.datname FROM pg_catalog.pg_database d, r "
            "  WHERE d.datdba = r.oid ORDER BY 1",
            {role}));
  ++report_.checks;
  for (int r = 0; r < owned.rows(); ++r) {
    report_.problems.push_back("role " + role + " owns " + std::string(owned.GetValue(r, 0)));
  }
  return Status::OK();
}

Status Checker::CheckRoles() {
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult group, Query("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'sync_service'"));
  Expect(group.rows() == 1, "missing role sync_service (run: owsync db init)");
  if (group.rows() != 1) return Status::OK();
  OWSYNC_RETURN_IF_ERROR(CheckRoleLimits("sync_service", /*is_group=*/true));

  // What the runtime needs.
  for (const char* t : kWritable) {
    const std::string qname = std::string("sync_metadata.") + t;
    OWSYNC_ASSIGN_OR_RETURN(PgResult p,
                            Query("SELECT to_regclass($1) IS NOT NULL AND "
                                  "pg_catalog.has_table_privilege('sync_service', to_regclass($1), "
                                  "'SELECT') AND "
                                  "pg_catalog.has_table_privilege('sync_service', to_regclass($1), "
                                  "'INSERT') AND "
                                  "pg_catalog.has_table_privilege('sync_service', to_regclass($1), "
                                  "'UPDATE')",
                                  {qname}));
    Expect(p.GetValue(0, 0) == "t", "sync_service lacks SELECT, INSERT or UPDATE on " + qname);
  }
  {
    OWSYNC_ASSIGN_OR_RETURN(
        PgResult p, Query("SELECT to_regclass('sync_metadata.client_deployments') IS NOT NULL AND "
                          "pg_catalog.has_table_privilege('sync_service', "
                          "'sync_metadata.client_deployments', 'SELECT') AND "
                          "pg_catalog.has_table_privilege('sync_service', "
                          "'sync_metadata.client_deployments', 'UPDATE')"));
    Expect(p.GetValue(0, 0) == "t",
           "sync_service lacks SELECT or UPDATE on sync_metadata.client_deployments");
  }
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult needs,
      Query("SELECT "
            " to_regclass('sync_metadata.hosts') IS NOT NULL AND pg_catalog.has_table_privilege("
            "   'sync_service', 'sync_metadata.hosts', 'SELECT'),"
            " to_regclass('sync_metadata.hosts') IS NOT NULL AND "
            "   pg_catalog.has_column_privilege('sync_service', 'sync_metadata.hosts', "
            "   'last_heartbeat', 'UPDATE'),"
            " pg_catalog.has_schema_privilege('sync_service', 'sync_metadata', 'USAGE'),"
            " to_regclass('sync_metadata.leader_epoch_seq') IS NOT NULL AND "
            "   pg_catalog.has_sequence_privilege('sync_service', "
            "   'sync_metadata.leader_epoch_seq', 'USAGE'),"
            " pg_catalog.has_database_privilege('sync_service', pg_catalog.current_database(), "
            "   'TEMPORARY')"));
  const char* const what[] = {
      "SELECT on sync_metadata.hosts", "UPDATE of sync_metadata.hosts.last_heartbeat",
      "USAGE on schema sync_metadata", "USAGE on sequence sync_metadata.leader_epoch_seq",
      "TEMPORARY on this database"};
  for (int i = 0; i < 5; ++i) {
    Expect(needs.GetValue(0, i) == "t", std::string("sync_service lacks ") + what[i]);
  }
  for (const char* view : kViews) {
    const std::string qname = std::string("sync_metadata.") + view;
    OWSYNC_ASSIGN_OR_RETURN(
        PgResult p, Query("SELECT to_regclass($1) IS NULL OR pg_catalog.has_table_privilege("
                          "'sync_service', to_regclass($1), 'SELECT')",
                          {qname}));
    Expect(p.GetValue(0, 0) == "t", "sync_service lacks SELECT on " + qname);
  }

  // Every member (a host's login role) inherits the group's limits and must add nothing.
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult members,
      Query("SELECT r.rolname FROM pg_catalog.pg_auth_members m "
            "JOIN pg_catalog.pg_roles r ON r.oid = m.member "
            "WHERE m.roleid = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = "
            "'sync_service') ORDER BY 1"));
  for (int r = 0; r < members.rows(); ++r) {
    OWSYNC_RETURN_IF_ERROR(CheckRoleLimits(std::string(members.GetValue(r, 0)), false));
  }
  return Status::OK();
}

}  // namespace

Result<SchemaCheckReport> SchemaChecker::Run(PgConnection* conn, Deadline deadline) {
  Checker checker(conn, deadline);
  OWSYNC_RETURN_IF_ERROR(checker.CheckObjects());
  OWSYNC_RETURN_IF_ERROR(checker.CheckRoles());
  return std::move(checker.report());
}

}  // namespace owsync::cli
