#include "capture/trigger_installer.h"

#include <cstdint>
#include <map>

#include "capture/changelog.h"
#include "capture/sql_quote.h"

namespace owsync::capture {
namespace {

// FNV-1a, 64 bits: a stable short tag for a table name in trigger names.
std::string NameHash(const std::string& name) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[i] = kHex[h & 0xf];
    h >>= 4;
  }
  return out;
}

struct ExistingTrigger {
  std::string table;
  std::string sql;
};

Result<std::map<std::string, ExistingTrigger>> ExistingTriggers(SqliteDb* db) {
  OWSYNC_ASSIGN_OR_RETURN(
      SqliteStmt stmt,
      db->Prepare("SELECT name, tbl_name, sql FROM sqlite_schema WHERE type = 'trigger' AND "
                  "lower(substr(name, 1, 8)) = '_owsync_'"));
  std::map<std::string, ExistingTrigger> out;
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    out[stmt.ColumnText(0)] = {stmt.ColumnText(1), stmt.ColumnText(2)};
  }
  return out;
}

std::string Insert(const std::string& table, int op, const std::string& ref, const TableInfo& t,
                   bool select_where, const std::string& where) {
  std::string cols = "tbl, op, ts";
  std::string vals =
      QuoteLiteral(table) + ", " + std::to_string(op) + ", CAST(strftime('%s', 'now') AS INTEGER)";
  auto keys = t.KeyNames();
  for (size_t i = 0; i < keys.size(); ++i) {
    cols += ", " + Changelog::KeyColumnName(static_cast<int>(i));
    vals += ", " + ref + "." + QuoteIdentifier(keys[i]);
  }
  std::string sql = "INSERT INTO " + QuoteIdentifier(Changelog::kTable) + " (" + cols + ") ";
  if (select_where) {
    sql += "SELECT " + vals + " WHERE " + where;
  } else {
    sql += "VALUES (" + vals + ")";
  }
  return sql + "; ";
}

// Logs a delete of every row of `t` matching `where` (unqualified names are t's columns).
std::string CollidingRows(const TableInfo& t, const std::string& where) {
  std::string cols = "tbl, op, ts";
  std::string vals = QuoteLiteral(t.name) + ", " +
                     std::to_string(static_cast<int>(ChangeOp::kDelete)) +
                     ", CAST(strftime('%s', 'now') AS INTEGER)";
  auto keys = t.KeyNames();
  for (size_t i = 0; i < keys.size(); ++i) {
    cols += ", " + Changelog::KeyColumnName(static_cast<int>(i));
    vals += ", " + QuoteIdentifier(t.name) + "." + QuoteIdentifier(keys[i]);
  }
  return "INSERT INTO " + QuoteIdentifier(Changelog::kTable) + " (" + cols + ") SELECT " + vals +
         " FROM " + QuoteIdentifier(t.name) + " WHERE " + where + "; ";
}

}  // namespace

std::vector<TriggerDef> TriggerInstaller::TriggersFor(const TableInfo& t) {
  const std::string base = std::string(kPrefix) + NameHash(t.name);
  const std::string on = " ON " + QuoteIdentifier(t.name) + " BEGIN ";
  std::string key_changed;
  for (const auto& k : t.KeyNames()) {
    std::string o = "OLD." + QuoteIdentifier(k), n = "NEW." + QuoteIdentifier(k);
    if (!key_changed.empty()) key_changed += " OR ";
    key_changed +=
        "(" + o + " IS NOT (" + n + " COLLATE BINARY)) OR (typeof(" + o + ") <> typeof(" + n + "))";
  }
  std::vector<TriggerDef> defs;
  defs.push_back({base + "_ins", t.name,
                  "CREATE TRIGGER " + QuoteIdentifier(base + "_ins") + " AFTER INSERT" + on +
                      Insert(t.name, static_cast<int>(ChangeOp::kInsert), "NEW", t, false, "") +
                      "END"});
  defs.push_back(
      {base + "_upd", t.name,
       "CREATE TRIGGER " + QuoteIdentifier(base + "_upd") + " AFTER UPDATE" + on +
           Insert(t.name, static_cast<int>(ChangeOp::kDelete), "OLD", t, true, key_changed) +
           Insert(t.name, static_cast<int>(ChangeOp::kUpdate), "NEW", t, false, "") + "END"});
  defs.push_back({base + "_del", t.name,
                  "CREATE TRIGGER " + QuoteIdentifier(base + "_del") + " AFTER DELETE" + on +
                      Insert(t.name, static_cast<int>(ChangeOp::kDelete), "OLD", t, false, "") +
                      "END"});
  if (t.replace_conditions.empty()) return defs;
  // REPLACE through a UNIQUE index deletes the rows NEW collides with before it inserts, and
  // fires no delete trigger for them: log their keys first. SQLite runs BEFORE triggers before
  // it resolves constraints (tested); when the statement then fails, their entries go with it,
  // and a statement that ignores the row leaves an entry that drains as the row's current
  // image (harmless).
  std::string colliding;
  for (const auto& c : t.replace_conditions) {
    colliding += std::string(colliding.empty() ? "" : " OR ") + "(" + c + ")";
  }
  const std::string victims = CollidingRows(t, colliding);
  defs.push_back({base + "_bri", t.name,
                  "CREATE TRIGGER " + QuoteIdentifier(base + "_bri") + " BEFORE INSERT" + on +
                      victims + "END"});
  defs.push_back({base + "_bru", t.name,
                  "CREATE TRIGGER " + QuoteIdentifier(base + "_bru") + " BEFORE UPDATE" + on +
                      victims + "END"});
  return defs;
}

Result<TriggerPlan> TriggerInstaller::Plan(SqliteDb* db, const Catalog& catalog) {
  OWSYNC_ASSIGN_OR_RETURN(auto existing, ExistingTriggers(db));
  TriggerPlan plan;
  std::map<std::string, TriggerDef> wanted;
  for (const TableInfo* t : catalog.Replicable()) {
    plan.key_columns_needed =
        std::max(plan.key_columns_needed, static_cast<int>(t->key_columns.size()));
    for (auto& def : TriggersFor(*t)) wanted[def.name] = std::move(def);
  }
  for (const auto& [name, have] : existing) {
    auto it = wanted.find(name);
    if (it == wanted.end() || it->second.table != have.table || it->second.sql != have.sql) {
      plan.drop.push_back(name);
    }
  }
  for (const auto& [name, def] : wanted) {
    auto it = existing.find(name);
    if (it == existing.end() || it->second.table != def.table || it->second.sql != def.sql) {
      plan.create.push_back(def);
      plan.tables_created.insert(def.table);
    }
  }
  return plan;
}

Status TriggerInstaller::Apply(SqliteDb* db, const TriggerPlan& plan) {
  for (const auto& name : plan.drop) {
    OWSYNC_RETURN_IF_ERROR(db->Exec("DROP TRIGGER IF EXISTS " + QuoteIdentifier(name)));
  }
  for (const auto& def : plan.create) OWSYNC_RETURN_IF_ERROR(db->Exec(def.sql));
  return Status::OK();
}

Result<std::vector<std::string>> TriggerInstaller::TablesMissingTriggers(SqliteDb* db,
                                                                         const Catalog& catalog) {
  OWSYNC_ASSIGN_OR_RETURN(TriggerPlan plan, Plan(db, catalog));
  return std::vector<std::string>(plan.tables_created.begin(), plan.tables_created.end());
}

Status TriggerInstaller::RemoveAll(SqliteDb* db) {
  OWSYNC_ASSIGN_OR_RETURN(auto existing, ExistingTriggers(db));
  for (const auto& [name, unused] : existing) {
    OWSYNC_RETURN_IF_ERROR(db->Exec("DROP TRIGGER IF EXISTS " + QuoteIdentifier(name)));
  }
  return Status::OK();
}

}  // namespace owsync::capture
