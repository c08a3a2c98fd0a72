#include "cli/workload_schema.h"

#include <algorithm>
#include <cctype>

#include "cli/sqlite_handle.h"

namespace owsync::cli {
namespace {

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

struct UniqueIndex {
  std::string name;
  std::vector<int> columns;  // empty when it covers an expression
};

Result<std::vector<UniqueIndex>> LoadUniqueIndexes(sqlite3* db, const WorkloadTable& table) {
  std::vector<UniqueIndex> out;
  OWSYNC_ASSIGN_OR_RETURN(
      SqliteStmt list, PrepareSqlite(db, "PRAGMA index_list(" + QuoteIdentifier(table.name) + ")"));
  std::vector<std::string> names;
  while (sqlite3_step(list.get()) == SQLITE_ROW) {
    bool unique = sqlite3_column_int(list.get(), 2) != 0;
    bool partial = sqlite3_column_int(list.get(), 4) != 0;
    if (unique && !partial) {
      names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(list.get(), 1)));
    }
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    OWSYNC_ASSIGN_OR_RETURN(SqliteStmt info,
                            PrepareSqlite(db, "PRAGMA index_info(" + QuoteIdentifier(name) + ")"));
    UniqueIndex index{name, {}};
    bool plain = true;
    while (sqlite3_step(info.get()) == SQLITE_ROW) {
      int cid = sqlite3_column_int(info.get(), 1);
      if (cid < 0) plain = false;
      index.columns.push_back(cid);
    }
    if (!plain) index.columns.clear();
    out.push_back(std::move(index));
  }
  return out;
}

Status FillKeys(sqlite3* db, WorkloadTable* table) {
  OWSYNC_ASSIGN_OR_RETURN(std::vector<UniqueIndex> uniques, LoadUniqueIndexes(db, *table));
  if (table->key.empty()) {
    const UniqueIndex* best = nullptr;
    for (const UniqueIndex& u : uniques) {
      if (u.columns.empty()) continue;
      bool all_not_null = std::all_of(u.columns.begin(), u.columns.end(),
                                      [&](int c) { return table->columns[c].not_null; });
      if (all_not_null && (best == nullptr || u.columns.size() < best->columns.size())) best = &u;
    }
    if (best != nullptr) table->key = best->columns;
  }
  std::vector<int> sorted_key = table->key;
  std::sort(sorted_key.begin(), sorted_key.end());
  for (const UniqueIndex& u : uniques) {
    if (u.columns.empty()) continue;
    std::vector<int> sorted = u.columns;
    std::sort(sorted.begin(), sorted.end());
    if (sorted == sorted_key) continue;
    table->secondary_uniques.push_back(u.columns);
    for (int c : u.columns) table->columns[c].in_secondary_unique = true;
  }
  return Status::OK();
}

}  // namespace

bool WorkloadTable::IsKeyColumn(int column) const {
  return std::find(key.begin(), key.end(), column) != key.end();
}

const WorkloadTable* WorkloadSchema::Find(const std::string& name) const {
  for (const WorkloadTable& t : tables_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

Result<WorkloadSchema> WorkloadSchema::Load(sqlite3* db, const std::vector<std::string>& skip) {
  WorkloadSchema schema;
  OWSYNC_ASSIGN_OR_RETURN(
      SqliteStmt names,
      PrepareSqlite(db,
                    "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE "
                    "'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_owsync%' ESCAPE '\\' "
                    "ORDER BY name"));
  std::vector<std::string> table_names;
  int rc;
  while ((rc = sqlite3_step(names.get())) == SQLITE_ROW) {
    std::string name = reinterpret_cast<const char*>(sqlite3_column_text(names.get(), 0));
    if (std::find(skip.begin(), skip.end(), name) == skip.end()) table_names.push_back(name);
  }
  if (rc != SQLITE_DONE) return SqliteStatus(db, rc, "list tables");

  for (const std::string& name : table_names) {
    WorkloadTable table;
    table.name = name;
    OWSYNC_ASSIGN_OR_RETURN(SqliteStmt info,
                            PrepareSqlite(db, "PRAGMA table_info(" + QuoteIdentifier(name) + ")"));
    std::vector<std::pair<int, int>> pk;  // (position in pk, column)
    while (sqlite3_step(info.get()) == SQLITE_ROW) {
      WorkloadColumn col;
      col.name = reinterpret_cast<const char*>(sqlite3_column_text(info.get(), 1));
      const unsigned char* type = sqlite3_column_text(info.get(), 2);
      col.declared_type = Upper(type ? reinterpret_cast<const char*>(type) : "");
      col.not_null = sqlite3_column_int(info.get(), 3) != 0;
      col.has_default = sqlite3_column_type(info.get(), 4) != SQLITE_NULL;
      int pk_pos = sqlite3_column_int(info.get(), 5);
      if (pk_pos > 0) pk.emplace_back(pk_pos, static_cast<int>(table.columns.size()));
      table.columns.push_back(std::move(col));
    }
    std::sort(pk.begin(), pk.end());
    for (auto [pos, column] : pk) table.key.push_back(column);
    table.rowid_key = pk.size() == 1 && table.columns[pk[0].second].declared_type == "INTEGER";
    OWSYNC_RETURN_IF_ERROR(FillKeys(db, &table));
    if (table.key.empty()) continue;  // not replicable: the generator leaves it alone
    for (const WorkloadColumn& c : table.columns) {
      table.signature += c.name + ":" + c.declared_type + (c.not_null ? "!" : "") + ",";
    }
    for (int k : table.key) table.signature += "k" + std::to_string(k);
    schema.tables_.push_back(std::move(table));
  }
  return schema;
}

}  // namespace owsync::cli
