#include "shipper/tenant_catalog.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "shipper/batch.h"

namespace owsync::shipper {

size_t RecordBytes(const outbox::Record& record) {
  // What the record occupies on the heap, allocator overhead included roughly (strings that
  // do not fit the small-string buffer are allocations of their capacity).
  auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 16 : 0; };
  size_t bytes = sizeof(outbox::Record) + heap(record.table) + heap(record.capture_token) + 32;
  for (const auto& v : record.key) bytes += sizeof(outbox::Value) + heap(v.bytes);
  for (const auto& v : record.row) bytes += sizeof(outbox::Value) + heap(v.bytes);
  for (const auto& c : record.columns) {
    bytes += sizeof(outbox::Column) + heap(c.name) + heap(c.declared_type);
  }
  return bytes;
}

namespace {

bool IsSyncColumn(std::string_view name) { return name.starts_with("_owsync_"); }

}  // namespace

std::string ColumnsToJson(const std::vector<outbox::Column>& columns) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& c : columns) {
    array.push_back({{"name", c.name},
                     {"type", c.declared_type},
                     {"key", c.key_position},
                     {"not_null", c.not_null}});
  }
  return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::vector<outbox::Column>> ColumnsFromJson(std::string_view json) {
  nlohmann::json array = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!array.is_array()) return Status::Corruption("_owsync_tables.columns is not a JSON array");
  std::vector<outbox::Column> columns;
  for (const auto& item : array) {
    if (!item.is_object() || !item.contains("name") || !item["name"].is_string()) {
      return Status::Corruption("_owsync_tables.columns: an entry without a name");
    }
    outbox::Column c;
    c.name = item["name"].get<std::string>();
    if (item.contains("type") && item["type"].is_string()) {
      c.declared_type = item["type"].get<std::string>();
    }
    if (item.contains("key") && item["key"].is_number_unsigned()) {
      c.key_position = item["key"].get<uint32_t>();
    }
    if (item.contains("not_null") && item["not_null"].is_boolean()) {
      c.not_null = item["not_null"].get<bool>();
    }
    columns.push_back(std::move(c));
  }
  return columns;
}

Result<TenantCatalog> TenantCatalog::Load(PgConnection* conn, const std::string& client,
                                          Deadline deadline) {
  TenantCatalog catalog;
  catalog.client_ = client;
  OWSYNC_ASSIGN_OR_RETURN(catalog.quoted_schema_, conn->QuoteIdentifier(client));
  OWSYNC_RETURN_IF_ERROR(catalog.LoadTargets(conn, deadline));
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult saved, conn->Exec("SELECT table_name, columns::text FROM " + catalog.quoted_schema_ +
                                     "._owsync_tables ORDER BY table_name",
                                 deadline));
  for (int r = 0; r < saved.rows(); ++r) {
    std::string table(saved.GetValue(r, 0));
    auto it = catalog.tables_.find(table);
    if (it == catalog.tables_.end()) continue;  // dropped from the target since: ignore
    OWSYNC_ASSIGN_OR_RETURN(std::vector<outbox::Column> columns,
                            ColumnsFromJson(saved.GetValue(r, 1)));
    it->second.source = std::move(columns);
    it->second.has_source = true;
    Remap(&it->second);
  }
  return catalog;
}

Status TenantCatalog::LoadTargets(PgConnection* conn, Deadline deadline) {
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult res,
      conn->ExecParams("SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),"
                       " COALESCE(a.attnum = ANY (i.indkey), false)"
                       " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                       " JOIN pg_attribute a ON a.attrelid = c.oid"
                       " LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary"
                       " WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0"
                       " AND NOT a.attisdropped ORDER BY c.relname, a.attnum",
                       {client_}, deadline));
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult schema_exists,
      conn->ExecParams("SELECT 1 FROM pg_namespace WHERE nspname = $1", {client_}, deadline));
  if (schema_exists.rows() == 0) {
    return Status::NotFound("tenant '" + client_ +
                            "' is not provisioned in PostgreSQL (no schema of that name): run "
                            "`owsync provision --client " +
                            client_ + " ...`");
  }
  std::map<std::string, TableMapping> fresh;
  for (int r = 0; r < res.rows(); ++r) {
    std::string table(res.GetValue(r, 0));
    if (table == "_owsync_tables") continue;
    std::string column(res.GetValue(r, 1));
    if (IsSyncColumn(column)) continue;
    TableMapping& m = fresh[table];
    if (m.table.empty()) {
      m.table = table;
      OWSYNC_ASSIGN_OR_RETURN(std::string qt, conn->QuoteIdentifier(table));
      m.qualified = quoted_schema_ + "." + qt;
    }
    TargetColumn tc;
    tc.name = column;
    tc.type = PgTypeFromFormatType(res.GetValue(r, 2));
    tc.is_key = res.GetValue(r, 3) == "t";
    OWSYNC_ASSIGN_OR_RETURN(std::string quoted, conn->QuoteIdentifier(column));
    m.quoted_target.push_back(std::move(quoted));
    m.target.push_back(std::move(tc));
  }
  for (auto& [name, m] : fresh) {
    auto old = tables_.find(name);
    if (old != tables_.end() && old->second.has_source) {
      m.source = old->second.source;
      m.has_source = true;
    }
    Remap(&m);
  }
  tables_ = std::move(fresh);
  return Status::OK();
}

Status TenantCatalog::ReloadTargets(PgConnection* conn, Deadline deadline) {
  return LoadTargets(conn, deadline);
}

void TenantCatalog::Remap(TableMapping* m) {
  m->source_to_target.assign(m->source.size(), -1);
  m->key_target.clear();
  std::vector<std::pair<uint32_t, int>> keys;
  for (size_t s = 0; s < m->source.size(); ++s) {
    for (size_t t = 0; t < m->target.size(); ++t) {
      if (m->target[t].name == m->source[s].name) {
        m->source_to_target[s] = static_cast<int>(t);
        break;
      }
    }
    if (m->source[s].key_position > 0) {
      keys.emplace_back(m->source[s].key_position, m->source_to_target[s]);
    }
  }
  std::sort(keys.begin(), keys.end());
  for (const auto& k : keys) m->key_target.push_back(k.second);
}

Status TenantCatalog::ApplySchema(const outbox::Record& schema) {
  auto it = tables_.find(schema.table);
  if (it == tables_.end()) {
    return Status::FailedPrecondition(
        "table '" + schema.table + "' of tenant '" + client_ +
        "' is not provisioned in PostgreSQL: run `owsync provision --migrate --client " + client_ +
        " ...` (shipping of this tenant stops until then; nothing is skipped)");
  }
  TableMapping& m = it->second;
  m.source = schema.columns;
  m.has_source = true;
  Remap(&m);
  // The source key must be the target's primary key, column for column.
  size_t target_keys = 0;
  for (const auto& t : m.target) target_keys += t.is_key ? 1 : 0;
  bool ok = !m.key_target.empty() && m.key_target.size() == target_keys;
  for (int t : m.key_target) ok = ok && t >= 0 && m.target[static_cast<size_t>(t)].is_key;
  if (!ok) {
    return Status::FailedPrecondition(
        "table '" + schema.table + "' of tenant '" + client_ +
        "': the SQLite key does not match the PostgreSQL primary key; re-provision the table "
        "(`owsync provision --migrate`) or fix it by hand");
  }
  return Status::OK();
}

Result<std::string> TenantCatalog::SaveSchemaSql(PgConnection* conn, const std::string& table,
                                                 uint64_t offset) const {
  const TableMapping* m = Find(table);
  if (m == nullptr || !m->has_source) return Status::Internal("no schema for " + table);
  OWSYNC_ASSIGN_OR_RETURN(std::string name, conn->QuoteLiteral(table));
  OWSYNC_ASSIGN_OR_RETURN(std::string json, conn->QuoteLiteral(ColumnsToJson(m->source)));
  return "INSERT INTO " + quoted_schema_ +
         "._owsync_tables (table_name, columns, schema_offset) VALUES (" + name + ", " + json +
         "::jsonb, " + std::to_string(offset) +
         ") ON CONFLICT (table_name) DO UPDATE SET columns = EXCLUDED.columns, schema_offset = "
         "EXCLUDED.schema_offset";
}

const TableMapping* TenantCatalog::Find(const std::string& table) const {
  auto it = tables_.find(table);
  return it == tables_.end() ? nullptr : &it->second;
}

}  // namespace owsync::shipper
