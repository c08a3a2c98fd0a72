#include "shipper/tenant_provisioner.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "shipper/extra_column_mover.h"
#include "shipper/pg_type.h"
#include "shipper/tenant_name.h"

namespace owsync::shipper {
namespace {

constexpr std::string_view kSyncColumns[] = {"_owsync_offset", "_owsync_deleted_at",
                                             "_owsync_dirty", "_owsync_extra"};

// One replicated table as requested, validated, with its key columns in key order.
struct WantedTable {
  const ProvisionTable* source = nullptr;
  std::vector<std::string> key;
};

struct ExistingColumn {
  std::string type;  // format_type()
  bool lz4 = false;  // attcompression = 'l'
};

struct ExistingTable {
  std::map<std::string, ExistingColumn> columns;
  std::vector<std::string> primary_key;  // in key order
  bool has_trigger = false;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

class ProvisionRun {
 public:
  ProvisionRun(PgConnection* conn, const ProvisionRequest& req, Clock* clock,
               const ProvisionOptions& options)
      : conn_(conn), req_(req), clock_(clock), options_(options) {}

  Result<ProvisionReport> Run();

 private:
  Result<PgResult> Exec(std::string_view sql,
                        const std::vector<std::optional<std::string>>& params = {}) {
    return conn_->ExecParams(sql, params, Deadline::After(clock_, options_.statement_micros));
  }
  // Runs DDL and records `change`.
  Status Change(const std::string& sql, std::string change) {
    OWSYNC_RETURN_IF_ERROR(Exec(sql).status().WithContext(change));
    report_.changes.push_back(std::move(change));
    return Status::OK();
  }
  Result<std::string> Q(std::string_view ident) { return conn_->QuoteIdentifier(ident); }
  Result<std::string> Qualified(std::string_view table) {
    OWSYNC_ASSIGN_OR_RETURN(std::string t, Q(table));
    return schema_q_ + "." + t;
  }
  std::string ColumnDef(std::string_view quoted, PgType type, bool not_null) const {
    std::string def = std::string(quoted) + " " + std::string(PgTypeSql(type));
    if (lz4_ && PgTypeIsToastable(type)) def += " COMPRESSION lz4";
    if (not_null) def += " NOT NULL";
    return def;
  }

  Status Validate();
  Status LockAndReadRegistration();
  Status ReadSchema();
  Status CheckPlan();
  Status CreateTable(const WantedTable& want);
  // The name a table whose key changed is kept under (63 bytes at most).
  std::string AsideName(const std::string& table) const;
  Status SetAside(const std::string& table);
  Status AddColumns(const WantedTable& want, ExistingTable* have);
  Status EnsureTriggersCompressionGrants();
  Status Register();
  Status MoveExtraValues(const std::string& table, const outbox::Column& column);

  PgConnection* conn_;
  const ProvisionRequest& req_;
  Clock* clock_;
  ProvisionOptions options_;
  ProvisionReport report_;

  std::vector<WantedTable> wanted_;
  std::string schema_q_;
  std::string host_id_, host_cluster_;
  bool has_deployment_ = false;
  bool has_offset_row_ = false;
  bool lz4_ = false;
  bool schema_exists_ = false;
  bool provisioned_ = false;  // the schema holds _owsync_tables
  bool has_function_ = false;
  std::map<std::string, ExistingTable> existing_;
  bool tables_changed_ = false;
  std::vector<std::string> rekeyed_;  // tables whose key changed (set aside by --migrate)
};

Status ProvisionRun::Validate() {
  OWSYNC_RETURN_IF_ERROR(TenantName::ValidateClientName(req_.client));
  if (req_.host.empty()) return Status::InvalidArgument("no host given (--host)");
  std::set<std::string> names;
  for (const ProvisionTable& table : req_.tables) {
    OWSYNC_RETURN_IF_ERROR(TenantName::ValidateTableName(table.name));
    if (!names.insert(Lower(table.name)).second) {
      return Status::InvalidArgument("table \"" + table.name + "\" is listed twice");
    }
    if (table.columns.empty()) {
      return Status::InvalidArgument("table \"" + table.name + "\" has no columns");
    }
    std::set<std::string> columns;
    std::map<uint32_t, std::string> key;
    for (const outbox::Column& c : table.columns) {
      OWSYNC_RETURN_IF_ERROR(TenantName::ValidateColumnName(table.name, c.name));
      if (!columns.insert(Lower(c.name)).second) {
        return Status::InvalidArgument("table \"" + table.name + "\" has column \"" + c.name +
                                       "\" twice");
      }
      if (c.key_position > 0 && !key.emplace(c.key_position, c.name).second) {
        return Status::InvalidArgument("table \"" + table.name + "\" has two columns at key " +
                                       "position " + std::to_string(c.key_position));
      }
    }
    if (key.empty()) {
      report_.warnings.push_back(
          "table \"" + table.name +
          "\" has no usable key (no PRIMARY KEY, no UNIQUE index over NOT NULL columns): it is "
          "not replicated, so it is not provisioned");
      continue;
    }
    if (key.rbegin()->first != key.size()) {
      return Status::InvalidArgument("table \"" + table.name + "\": key positions are not 1.." +
                                     std::to_string(key.size()));
    }
    WantedTable want{&table, {}};
    for (const auto& [pos, name] : key) want.key.push_back(name);
    wanted_.push_back(std::move(want));
  }
  return Status::OK();
}

Status ProvisionRun::LockAndReadRegistration() {
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult ready, Exec("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attname = "
                           "'schema_version' AND NOT attisdropped AND "
                           "attrelid = to_regclass('sync_metadata.tenant_offsets'))"));
  if (ready.GetValue(0, 0) != "t") {
    return Status::FailedPrecondition(
        "sync_metadata is missing or older than this owsync (no "
        "tenant_offsets.schema_version): run `owsync db init` first");
  }
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult hosts,
      Exec("SELECT host_id::text, db_role, cluster_name FROM sync_metadata.hosts "
           "WHERE hostname = $1 AND ($2::text = '' OR cluster_name = $2::text) ORDER BY 3",
           {req_.host, req_.cluster}));
  if (hosts.rows() == 0) {
    return Status::NotFound("host '" + req_.host + "'" +
                            (req_.cluster.empty() ? "" : " of cluster '" + req_.cluster + "'") +
                            " is not registered: run `owsync db add-host` first");
  }
  if (hosts.rows() > 1) {
    return Status::InvalidArgument("host name '" + req_.host +
                                   "' is registered in several clusters; name one with --cluster");
  }
  if (hosts.IsNull(0, 1)) {
    return Status::FailedPrecondition("host '" + req_.host +
                                      "' has no login role (hosts.db_role is NULL); register it "
                                      "with `owsync db add-host`");
  }
  host_id_ = std::string(hosts.GetValue(0, 0));
  report_.role = std::string(hosts.GetValue(0, 1));
  host_cluster_ = std::string(hosts.GetValue(0, 2));
  OWSYNC_ASSIGN_OR_RETURN(PgResult role, Exec("SELECT 1 FROM pg_catalog.pg_roles WHERE "
                                              "rolname = $1",
                                              {report_.role}));
  if (role.rows() == 0) {
    return Status::FailedPrecondition("the login role '" + report_.role + "' of host '" +
                                      req_.host + "' does not exist");
  }

  OWSYNC_ASSIGN_OR_RETURN(
      PgResult dep,
      Exec("SELECT d.deployment_id::text, d.host_id::text, coalesce(h.hostname, '?'), "
           "coalesce(h.cluster_name, '?') FROM sync_metadata.client_deployments d "
           "LEFT JOIN sync_metadata.hosts h ON h.host_id = d.host_id WHERE d.client_name = $1",
           {req_.client}));
  if (dep.rows() > 0) {
    if (dep.IsNull(0, 1) || dep.GetValue(0, 1) != host_id_) {
      return Status::FailedPrecondition(
          "tenant '" + req_.client + "' is registered to host '" + std::string(dep.GetValue(0, 2)) +
          "' (cluster '" + std::string(dep.GetValue(0, 3)) + "'), not to '" + req_.host +
          "': moving a tenant to another host is not done by provision; nothing was changed");
    }
    has_deployment_ = true;
    report_.deployment_id = std::string(dep.GetValue(0, 0));
  }
  // The offset-row lock: a shipping batch holds it until it commits, so nothing below
  // interleaves with one.
  OWSYNC_ASSIGN_OR_RETURN(PgResult offsets, Exec("SELECT schema_version FROM "
                                                 "sync_metadata.tenant_offsets WHERE "
                                                 "client_name = $1 FOR UPDATE",
                                                 {req_.client}));
  has_offset_row_ = offsets.rows() > 0;
  if (has_offset_row_) report_.schema_version = std::stoll(std::string(offsets.GetValue(0, 0)));
  OWSYNC_ASSIGN_OR_RETURN(PgResult lz4, Exec("SELECT 1 FROM pg_catalog.pg_settings WHERE name = "
                                             "'default_toast_compression' AND 'lz4' = "
                                             "ANY(enumvals)"));
  lz4_ = lz4.rows() > 0;
  return Status::OK();
}

Status ProvisionRun::ReadSchema() {
  const std::vector<std::optional<std::string>> schema = {req_.client};
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult ns, Exec("SELECT (SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace = "
                        "n.oid), (SELECT count(*) FROM pg_catalog.pg_proc WHERE pronamespace = "
                        "n.oid AND proname = '_owsync_mark_dirty'), "
                        "to_regclass(pg_catalog.quote_ident(n.nspname) || '._owsync_tables') IS "
                        "NOT NULL FROM pg_catalog.pg_namespace n WHERE n.nspname = $1",
                        schema));
  schema_exists_ = ns.rows() > 0;
  if (!schema_exists_) return Status::OK();
  has_function_ = ns.GetValue(0, 1) != "0";
  provisioned_ = ns.GetValue(0, 2) == "t";
  if (!provisioned_ && ns.GetValue(0, 0) != "0") {
    return Status::FailedPrecondition("schema " + schema_q_ +
                                      " exists and holds objects but is not an owsync tenant "
                                      "schema (no _owsync_tables); nothing was changed");
  }
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult cols,
      Exec("SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
           "a.attcompression = 'l' FROM pg_catalog.pg_class c "
           "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
           "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
           "  AND NOT a.attisdropped "
           "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> '_owsync_tables'",
           schema));
  for (int r = 0; r < cols.rows(); ++r) {
    existing_[std::string(cols.GetValue(r, 0))].columns[std::string(cols.GetValue(r, 1))] = {
        std::string(cols.GetValue(r, 2)), cols.GetValue(r, 3) == "t"};
  }
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult pk,
      Exec("SELECT c.relname, a.attname FROM pg_catalog.pg_index i "
           "JOIN pg_catalog.pg_class c ON c.oid = i.indrelid "
           "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
           "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) "
           "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
           "WHERE n.nspname = $1 AND i.indisprimary ORDER BY c.relname, k.ord",
           schema));
  for (int r = 0; r < pk.rows(); ++r) {
    existing_[std::string(pk.GetValue(r, 0))].primary_key.emplace_back(pk.GetValue(r, 1));
  }
  OWSYNC_ASSIGN_OR_RETURN(PgResult trg,
                          Exec("SELECT c.relname FROM pg_catalog.pg_trigger t "
                               "JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid "
                               "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                               "WHERE n.nspname = $1 AND t.tgname = '_owsync_dirty'",
                               schema));
  for (int r = 0; r < trg.rows(); ++r) {
    existing_[std::string(trg.GetValue(r, 0))].has_trigger = true;
  }
  return Status::OK();
}

// Key changes are refused; new tables and columns need `migrate` once the tenant exists.
Status ProvisionRun::CheckPlan() {
  std::vector<std::string> missing;
  for (const WantedTable& want : wanted_) {
    const std::string& name = want.source->name;
    auto it = existing_.find(name);
    if (it == existing_.end()) {
      missing.push_back("table \"" + name + "\"");
      continue;
    }
    const ExistingTable& have = it->second;
    for (std::string_view sync : kSyncColumns) {
      if (have.columns.count(std::string(sync)) == 0) {
        return Status::FailedPrecondition("table " + schema_q_ + ".\"" + name +
                                          "\" lacks the sync column " + std::string(sync) +
                                          ": it was not created by owsync provision");
      }
    }
    if (have.primary_key != want.key) {
      // A table rebuilt with another key (Open WebUI's config: id -> "key"): --migrate keeps
      // the old table under another name (nothing is lost) and creates the table anew; the
      // capture's snapshot of the rebuilt table fills it.
      if (!req_.migrate) {
        return Status::FailedPrecondition(
            "table \"" + name + "\" is keyed by (" + Join(want.key, ", ") +
            ") in SQLite but its primary key in PostgreSQL is (" + Join(have.primary_key, ", ") +
            "): run `owsync provision --migrate` to keep the old table as \"" + AsideName(name) +
            "\" and create it anew with the new key; nothing was changed");
      }
      rekeyed_.push_back(name);
      missing.push_back("table \"" + name + "\" (new key)");
      continue;
    }
    for (const outbox::Column& c : want.source->columns) {
      auto col = have.columns.find(c.name);
      if (col == have.columns.end()) {
        missing.push_back("column \"" + name + "\".\"" + c.name + "\"");
        continue;
      }
      const std::string_view mapped = PgTypeSql(PgTypeForDeclared(c.declared_type));
      if (col->second.type != mapped) {
        report_.warnings.push_back("column \"" + name + "\".\"" + c.name + "\" is " +
                                   col->second.type + " in PostgreSQL, while SQLite's \"" +
                                   c.declared_type + "\" maps to " + std::string(mapped) +
                                   "; left as it is");
      }
    }
  }
  if (provisioned_ && !missing.empty() && !req_.migrate) {
    return Status::FailedPrecondition(
        "tenant '" + req_.client + "' is provisioned, but SQLite has " +
        std::to_string(missing.size()) +
        " table(s)/column(s) PostgreSQL does not: " + Join(missing, ", ") +
        ". Run `owsync provision --migrate` to add them (and move their values out of "
        "_owsync_extra); nothing was changed");
  }
  return Status::OK();
}

std::string ProvisionRun::AsideName(const std::string& table) const {
  const std::string suffix = "__owsync_old_" + std::to_string(report_.schema_version);
  size_t keep = std::min(table.size(), size_t{63} - suffix.size());
  // Never cut a UTF-8 sequence in half.
  while (keep > 0 && keep < table.size() &&
         (static_cast<unsigned char>(table[keep]) & 0xC0) == 0x80) {
    --keep;
  }
  return table.substr(0, keep) + suffix;
}

Status ProvisionRun::SetAside(const std::string& table) {
  OWSYNC_ASSIGN_OR_RETURN(std::string qualified, Qualified(table));
  OWSYNC_ASSIGN_OR_RETURN(std::string aside, Q(AsideName(table)));
  OWSYNC_RETURN_IF_ERROR(
      Change("ALTER TABLE " + qualified + " RENAME TO " + aside,
             "kept table " + qualified + " (old key) as " + schema_q_ + "." + aside));
  OWSYNC_RETURN_IF_ERROR(
      Exec("DELETE FROM " + schema_q_ + "._owsync_tables WHERE table_name = $1", {table}).status());
  existing_.erase(table);
  tables_changed_ = true;
  return Status::OK();
}

Status ProvisionRun::CreateTable(const WantedTable& want) {
  OWSYNC_ASSIGN_OR_RETURN(std::string qualified, Qualified(want.source->name));
  std::string sql = "CREATE TABLE " + qualified + " (\n";
  for (const outbox::Column& c : want.source->columns) {
    OWSYNC_ASSIGN_OR_RETURN(std::string q, Q(c.name));
    sql += "  " + ColumnDef(q, PgTypeForDeclared(c.declared_type), c.key_position > 0) + ",\n";
  }
  sql +=
      "  _owsync_offset bigint NOT NULL,\n  _owsync_deleted_at timestamptz,\n"
      "  _owsync_dirty boolean NOT NULL DEFAULT false,\n  " +
      ColumnDef("_owsync_extra", PgType::kJsonb, false) + ",\n  PRIMARY KEY (";
  for (size_t i = 0; i < want.key.size(); ++i) {
    OWSYNC_ASSIGN_OR_RETURN(std::string q, Q(want.key[i]));
    sql += (i > 0 ? ", " : "") + q;
  }
  sql += "))";
  OWSYNC_RETURN_IF_ERROR(Change(sql, "created table " + qualified + " (" +
                                         std::to_string(want.source->columns.size()) +
                                         " columns, key " + Join(want.key, ", ") + ")"));
  ExistingTable& have = existing_[want.source->name];
  for (const outbox::Column& c : want.source->columns) {
    const PgType type = PgTypeForDeclared(c.declared_type);
    have.columns[c.name] = {std::string(PgTypeSql(type)), lz4_ && PgTypeIsToastable(type)};
  }
  have.columns["_owsync_extra"] = {"jsonb", lz4_};
  tables_changed_ = true;
  return Status::OK();
}

Status ProvisionRun::AddColumns(const WantedTable& want, ExistingTable* have) {
  OWSYNC_ASSIGN_OR_RETURN(std::string qualified, Qualified(want.source->name));
  for (const outbox::Column& c : want.source->columns) {
    if (have->columns.count(c.name) > 0) continue;
    const PgType type = PgTypeForDeclared(c.declared_type);
    OWSYNC_ASSIGN_OR_RETURN(std::string q, Q(c.name));
    OWSYNC_RETURN_IF_ERROR(
        Change("ALTER TABLE " + qualified + " ADD COLUMN " + ColumnDef(q, type, false),
               "added column " + qualified + "." + q + " " + std::string(PgTypeSql(type))));
    have->columns[c.name] = {std::string(PgTypeSql(type)), lz4_ && PgTypeIsToastable(type)};
    tables_changed_ = true;
    OWSYNC_RETURN_IF_ERROR(MoveExtraValues(want.source->name, c));
  }
  return Status::OK();
}

Status ProvisionRun::MoveExtraValues(const std::string& table, const outbox::Column& column) {
  OWSYNC_ASSIGN_OR_RETURN(std::string qualified, Qualified(table));
  OWSYNC_ASSIGN_OR_RETURN(std::string q, Q(column.name));
  const PgType type = PgTypeForDeclared(column.declared_type);
  OWSYNC_ASSIGN_OR_RETURN(
      ExtraMoveResult moved,
      ExtraColumnMover::Move(conn_, qualified, column.name, q, type,
                             Deadline::After(clock_, options_.statement_micros)));
  if (moved.moved > 0) {
    report_.changes.push_back("moved " + std::to_string(moved.moved) + " value(s) of " + qualified +
                              "." + q + " out of _owsync_extra");
  }
  if (moved.left > 0) {
    report_.warnings.push_back(std::to_string(moved.left) + " value(s) of " + qualified + "." + q +
                               " do not fit " + std::string(PgTypeSql(type)) +
                               " and stay in _owsync_extra");
  }
  return Status::OK();
}

Status ProvisionRun::EnsureTriggersCompressionGrants() {
  for (const WantedTable& want : wanted_) {
    ExistingTable& have = existing_[want.source->name];
    OWSYNC_ASSIGN_OR_RETURN(std::string qualified, Qualified(want.source->name));
    if (!have.has_trigger) {
      OWSYNC_RETURN_IF_ERROR(Change(
          "CREATE TRIGGER _owsync_dirty BEFORE INSERT OR UPDATE ON " + qualified +
              " FOR EACH ROW WHEN (current_setting('owsync.applying', true) IS DISTINCT FROM "
              "'on') EXECUTE FUNCTION " +
              schema_q_ + "._owsync_mark_dirty()",
          "created trigger _owsync_dirty on " + qualified));
      have.has_trigger = true;
    }
    if (!lz4_) continue;
    for (auto& [name, col] : have.columns) {
      const bool toastable = col.type == "text" || col.type == "bytea" || col.type == "jsonb";
      if (!toastable || col.lz4) continue;
      OWSYNC_ASSIGN_OR_RETURN(std::string q, Q(name));
      OWSYNC_RETURN_IF_ERROR(
          Change("ALTER TABLE " + qualified + " ALTER COLUMN " + q + " SET COMPRESSION lz4",
                 "set lz4 compression on " + qualified + "." + q));
      col.lz4 = true;
    }
  }
  OWSYNC_ASSIGN_OR_RETURN(std::string role, Q(report_.role));
  OWSYNC_ASSIGN_OR_RETURN(PgResult usage, Exec("SELECT pg_catalog.has_schema_privilege($1, "
                                               "(SELECT oid FROM pg_catalog.pg_namespace "
                                               "WHERE nspname = $2), 'USAGE')",
                                               {report_.role, req_.client}));
  if (usage.GetValue(0, 0) != "t") {
    OWSYNC_RETURN_IF_ERROR(Change("GRANT USAGE ON SCHEMA " + schema_q_ + " TO " + role,
                                  "granted USAGE on schema " + schema_q_ + " to " + role));
  }
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult tables,
      Exec("SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
           "ON n.oid = c.relnamespace WHERE n.nspname = $2 AND c.relkind IN ('r', 'p') "
           "AND NOT (pg_catalog.has_table_privilege($1, c.oid, 'SELECT') "
           "  AND pg_catalog.has_table_privilege($1, c.oid, 'INSERT') "
           "  AND pg_catalog.has_table_privilege($1, c.oid, 'UPDATE')) ORDER BY 1",
           {report_.role, req_.client}));
  for (int r = 0; r < tables.rows(); ++r) {
    OWSYNC_ASSIGN_OR_RETURN(std::string qualified, Qualified(tables.GetValue(r, 0)));
    OWSYNC_RETURN_IF_ERROR(
        Change("GRANT SELECT, INSERT, UPDATE ON " + qualified + " TO " + role,
               "granted SELECT, INSERT, UPDATE on " + qualified + " to " + role));
  }
  return Status::OK();
}

Status ProvisionRun::Register() {
  if (!has_deployment_) {
    OWSYNC_ASSIGN_OR_RETURN(
        PgResult dep, Exec("INSERT INTO sync_metadata.client_deployments (host_id, client_name, "
                           "container_name, sync_enabled) VALUES ($1::uuid, $2::text, 'openwebui-' "
                           "|| $2::text, true) "
                           "RETURNING deployment_id::text",
                           {host_id_, req_.client}));
    report_.deployment_id = std::string(dep.GetValue(0, 0));
    report_.changes.push_back("registered tenant '" + req_.client + "' on host '" + req_.host +
                              "' (cluster '" + host_cluster_ + "') in client_deployments");
  }
  if (!has_offset_row_) {
    OWSYNC_RETURN_IF_ERROR(
        Exec("INSERT INTO sync_metadata.tenant_offsets (client_name, deployment_id, outbox_id, "
             "acked_offset, acked_epoch, schema_version) VALUES ($1, $2::uuid, NULL, 0, 0, 0)",
             {req_.client, report_.deployment_id})
            .status());
    report_.changes.push_back("created the offset row of '" + req_.client + "' in tenant_offsets");
  }
  return Status::OK();
}

Result<ProvisionReport> ProvisionRun::Run() {
  OWSYNC_RETURN_IF_ERROR(Validate());
  OWSYNC_ASSIGN_OR_RETURN(schema_q_, Q(req_.client));
  // Any early return leaves the transaction open; the caller's connection is rolled back
  // below before returning the error.
  OWSYNC_RETURN_IF_ERROR(Exec("BEGIN").status());
  OWSYNC_RETURN_IF_ERROR(Exec("SET LOCAL owsync.applying = 'on'").status());
  OWSYNC_RETURN_IF_ERROR(
      Exec("SELECT pg_advisory_xact_lock(hashtext('owsync provision ' || $1))", {req_.client})
          .status());
  OWSYNC_RETURN_IF_ERROR(LockAndReadRegistration());
  OWSYNC_RETURN_IF_ERROR(ReadSchema());
  OWSYNC_RETURN_IF_ERROR(CheckPlan());

  if (!schema_exists_) {
    OWSYNC_RETURN_IF_ERROR(Change("CREATE SCHEMA " + schema_q_, "created schema " + schema_q_));
  }
  if (!has_function_) {
    OWSYNC_RETURN_IF_ERROR(Change("CREATE FUNCTION " + schema_q_ +
                                      "._owsync_mark_dirty() RETURNS trigger LANGUAGE plpgsql "
                                      "SET search_path = pg_catalog, pg_temp "
                                      "AS $f$ BEGIN NEW._owsync_dirty := true; RETURN NEW; END $f$",
                                  "created function " + schema_q_ + "._owsync_mark_dirty()"));
  }
  if (!provisioned_) {
    OWSYNC_RETURN_IF_ERROR(Change("CREATE TABLE " + schema_q_ +
                                      "._owsync_tables (table_name text PRIMARY KEY, "
                                      "columns jsonb NOT NULL, schema_offset bigint NOT NULL)",
                                  "created table " + schema_q_ + "._owsync_tables"));
  }
  for (const std::string& name : rekeyed_) OWSYNC_RETURN_IF_ERROR(SetAside(name));
  for (const WantedTable& want : wanted_) {
    auto it = existing_.find(want.source->name);
    if (it == existing_.end()) {
      OWSYNC_RETURN_IF_ERROR(CreateTable(want));
    } else {
      OWSYNC_RETURN_IF_ERROR(AddColumns(want, &it->second));
    }
  }
  OWSYNC_RETURN_IF_ERROR(EnsureTriggersCompressionGrants());
  OWSYNC_RETURN_IF_ERROR(Register());
  if (tables_changed_) {
    OWSYNC_ASSIGN_OR_RETURN(
        PgResult v, Exec("UPDATE sync_metadata.tenant_offsets SET schema_version = "
                         "schema_version + 1 WHERE client_name = $1 RETURNING schema_version",
                         {req_.client}));
    const int64_t before = report_.schema_version;
    report_.schema_version = std::stoll(std::string(v.GetValue(0, 0)));
    report_.changes.push_back("tenant_offsets.schema_version " + std::to_string(before) + " -> " +
                              std::to_string(report_.schema_version));
  }
  report_.changed = !report_.changes.empty();
  // Nothing to do: roll back (releases the offset-row lock, leaves the catalog untouched).
  OWSYNC_RETURN_IF_ERROR(Exec(report_.changed ? "COMMIT" : "ROLLBACK").status());
  return std::move(report_);
}

}  // namespace

Result<ProvisionReport> TenantProvisioner::Provision(PgConnection* admin,
                                                     const ProvisionRequest& request) {
  ProvisionRun run(admin, request, clock_, options_);
  Result<ProvisionReport> report = run.Run();
  if (!report.ok()) {
    if (!admin->is_broken() && PQtransactionStatus(admin->raw()) != PQTRANS_IDLE) {
      auto rolled_back = admin->Exec("ROLLBACK", Deadline::After(clock_, 10'000'000));
      (void)rolled_back;
    }
    if (logger_) {
      logger_->Error("provision of tenant '{}' failed, nothing changed: {}", request.client,
                     report.status().ToString());
    }
    return report;
  }
  if (logger_) {
    for (const std::string& w : report->warnings)
      logger_->Warn("provision {}: {}", request.client, w);
    if (!report->changed) {
      logger_->Info("provision {}: up to date, nothing changed", request.client);
    }
    for (const std::string& c : report->changes)
      logger_->Info("provision {}: {}", request.client, c);
  }
  return report;
}

}  // namespace owsync::shipper
