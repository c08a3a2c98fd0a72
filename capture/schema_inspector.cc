#include "capture/schema_inspector.h"

#include <algorithm>
#include <string>
#include <vector>

#include "capture/index_terms.h"
#include "capture/sql_quote.h"

namespace owsync::capture {
namespace {

struct UniqueIndex {
  std::string name;
  std::vector<int> columns;  // indexes into TableInfo::columns
  bool from_constraint = false;
};

std::string AsciiUpper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

int FindColumn(const TableInfo& t, const std::string& name) {
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (IdentifierEquals(t.columns[i].name, name)) return static_cast<int>(i);
  }
  return -1;
}

// Reads the UNIQUE indexes of `t` that could serve as its key; explains the others in *why.
Result<std::vector<UniqueIndex>> UsableUniqueIndexes(SqliteDb* db, const TableInfo& t,
                                                     std::vector<std::string>* why) {
  OWSYNC_ASSIGN_OR_RETURN(
      SqliteStmt list,
      db->Prepare("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1, 'main')"));
  OWSYNC_RETURN_IF_ERROR(list.BindText(1, t.name));
  std::vector<UniqueIndex> candidates;
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    if (list.ColumnInt64(1) == 0) continue;
    UniqueIndex index;
    index.name = list.ColumnText(0);
    index.from_constraint = list.ColumnText(2) == "u";
    if (list.ColumnInt64(3) != 0) {
      why->push_back("UNIQUE index " + QuoteIdentifier(index.name) + " is partial");
      continue;
    }
    OWSYNC_ASSIGN_OR_RETURN(
        SqliteStmt info,
        db->Prepare("SELECT cid, name FROM pragma_index_xinfo(?1, 'main') WHERE key = 1 "
                    "ORDER BY seqno"));
    OWSYNC_RETURN_IF_ERROR(info.BindText(1, index.name));
    bool usable = true;
    std::string problem;
    while (true) {
      OWSYNC_ASSIGN_OR_RETURN(bool irow, info.Step());
      if (!irow) break;
      if (info.ColumnInt64(0) < 0) {
        usable = false;
        problem = "is over an expression";
        continue;
      }
      int c = FindColumn(t, info.ColumnText(1));
      if (c < 0) {
        usable = false;
        problem = "names an unknown column";
        continue;
      }
      if (!t.columns[c].not_null) {
        usable = false;
        problem = "is over nullable column " + QuoteIdentifier(t.columns[c].name) +
                  " (NULLs are not unique)";
      }
      index.columns.push_back(c);
    }
    if (!usable || index.columns.empty()) {
      why->push_back("UNIQUE index " + QuoteIdentifier(index.name) + " " + problem);
      continue;
    }
    candidates.push_back(std::move(index));
  }
  return candidates;
}

struct IndexColumn {
  int64_t cid = 0;  // column index, -1 rowid, -2 expression
  std::string name;
  std::string collation;
};

Result<std::vector<IndexColumn>> IndexColumns(SqliteDb* db, const std::string& index) {
  OWSYNC_ASSIGN_OR_RETURN(
      SqliteStmt info,
      db->Prepare("SELECT cid, name, coll FROM pragma_index_xinfo(?1, 'main') WHERE key = 1 "
                  "ORDER BY seqno"));
  OWSYNC_RETURN_IF_ERROR(info.BindText(1, index));
  std::vector<IndexColumn> out;
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(bool row, info.Step());
    if (!row) break;
    IndexColumn c;
    c.cid = info.ColumnInt64(0);
    c.name = info.ColumnIsNull(1) ? "" : info.ColumnText(1);
    c.collation = info.ColumnIsNull(2) ? "BINARY" : info.ColumnText(2);
    out.push_back(std::move(c));
  }
  return out;
}

// The condition under which an existing row collides with NEW in `index`, or "" (with
// *problem set) when an expression term cannot be read from the index's SQL.
Result<std::string> CollisionCondition(SqliteDb* db, const TableInfo& t, const std::string& index,
                                       const std::vector<IndexColumn>& cols, std::string* problem) {
  std::vector<std::string> terms;
  bool has_expression = false;
  for (const auto& c : cols) has_expression |= c.cid == -2;
  if (has_expression) {
    OWSYNC_ASSIGN_OR_RETURN(
        SqliteStmt sql,
        db->Prepare("SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?1"));
    OWSYNC_RETURN_IF_ERROR(sql.BindText(1, index));
    OWSYNC_ASSIGN_OR_RETURN(bool row, sql.Step());
    auto parsed = row && !sql.ColumnIsNull(0)
                      ? IndexTerms::Parse(sql.ColumnText(0))
                      : Result<std::vector<std::string>>(Status::NotFound("no SQL for the index"));
    if (!parsed.ok() || parsed->size() != cols.size()) {
      *problem =
          parsed.ok() ? "its terms do not match pragma_index_xinfo" : parsed.status().message();
      return std::string();
    }
    terms = std::move(*parsed);
  }
  const std::vector<std::string> names = t.ColumnNames();
  std::string cond;
  for (size_t i = 0; i < cols.size(); ++i) {
    const std::string collate = " COLLATE " + QuoteIdentifier(cols[i].collation);
    std::string lhs, rhs;
    if (cols[i].cid >= 0) {
      lhs = QuoteIdentifier(cols[i].name);
      rhs = "NEW." + lhs;
    } else if (cols[i].cid == -1) {
      lhs = "rowid";
      rhs = "NEW.rowid";
    } else {
      lhs = "(" + terms[i] + ")";
      rhs = "(" + IndexTerms::Qualify(terms[i], names, "NEW") + ")";
    }
    if (!cond.empty()) cond += " AND ";
    cond += lhs + collate + " = " + rhs + collate;
  }
  return cond;
}

// Fills t->key_collations from the key's index (`index`, or the PRIMARY KEY's when ""); a
// rowid alias has none and compares as integers (BINARY).
Status FindKeyCollations(SqliteDb* db, std::string index, TableInfo* t) {
  if (index.empty()) {
    OWSYNC_ASSIGN_OR_RETURN(SqliteStmt list,
                            db->Prepare("SELECT name FROM pragma_index_list(?1, 'main') WHERE "
                                        "origin = 'pk'"));
    OWSYNC_RETURN_IF_ERROR(list.BindText(1, t->name));
    OWSYNC_ASSIGN_OR_RETURN(bool row, list.Step());
    if (row) index = list.ColumnText(0);
  }
  t->key_collations.assign(t->key_columns.size(), "BINARY");
  if (index.empty()) return Status::OK();
  OWSYNC_ASSIGN_OR_RETURN(std::vector<IndexColumn> cols, IndexColumns(db, index));
  for (size_t i = 0; i < cols.size() && i < t->key_columns.size(); ++i) {
    t->key_collations[i] = cols[i].collation;
  }
  return Status::OK();
}

// Fills t->replace_conditions (see TableInfo).
Status FindReplaceConditions(SqliteDb* db, TableInfo* t) {
  OWSYNC_ASSIGN_OR_RETURN(SqliteStmt list,
                          db->Prepare("SELECT name FROM pragma_index_list(?1, 'main') WHERE "
                                      "\"unique\" = 1 ORDER BY name"));
  OWSYNC_RETURN_IF_ERROR(list.BindText(1, t->name));
  std::vector<std::string> indexes;
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    indexes.push_back(list.ColumnText(0));
  }
  for (const std::string& index : indexes) {
    OWSYNC_ASSIGN_OR_RETURN(std::vector<IndexColumn> cols, IndexColumns(db, index));
    bool is_key = cols.size() == t->key_columns.size();
    for (size_t i = 0; is_key && i < cols.size(); ++i) {
      is_key = cols[i].cid == t->key_columns[i] && IdentifierEquals(cols[i].collation, "BINARY");
    }
    if (is_key || cols.empty()) continue;
    std::string problem;
    OWSYNC_ASSIGN_OR_RETURN(std::string cond, CollisionCondition(db, *t, index, cols, &problem));
    if (cond.empty()) {
      t->unwatched_indexes.push_back(QuoteIdentifier(index) + " (" + problem + ")");
      continue;
    }
    t->replace_conditions.push_back(std::move(cond));
  }
  return Status::OK();
}

}  // namespace

Result<TableInfo> SchemaInspector::InspectTable(SqliteDb* db, const std::string& name,
                                                bool without_rowid) {
  TableInfo t;
  t.name = name;
  t.without_rowid = without_rowid;
  OWSYNC_ASSIGN_OR_RETURN(
      SqliteStmt cols,
      db->Prepare(
          "SELECT name, type, \"notnull\", pk, dflt_value FROM pragma_table_info(?1, 'main') "
          "ORDER BY cid"));
  OWSYNC_RETURN_IF_ERROR(cols.BindText(1, name));
  std::vector<std::pair<int, int>> pk;  // (pk position, column index)
  std::string key_index;                // the index holding the key ("" = the PRIMARY KEY's)
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(bool row, cols.Step());
    if (!row) break;
    outbox::Column c;
    c.name = cols.ColumnText(0);
    c.declared_type = cols.ColumnText(1);
    c.not_null = cols.ColumnInt64(2) != 0;
    int pk_pos = static_cast<int>(cols.ColumnInt64(3));
    if (pk_pos > 0) pk.emplace_back(pk_pos, static_cast<int>(t.columns.size()));
    t.columns.push_back(std::move(c));
    std::string dflt = cols.ColumnIsNull(4) ? "" : cols.ColumnText(4);
    if (IdentifierEquals(dflt, "NULL")) dflt.clear();
    t.column_defaults.push_back(std::move(dflt));
  }
  if (t.columns.empty()) return Status::NotFound("table " + QuoteIdentifier(name) + " not found");

  std::sort(pk.begin(), pk.end());
  if (!pk.empty()) {
    for (const auto& p : pk) t.key_columns.push_back(p.second);
    bool rowid_alias = !without_rowid && pk.size() == 1 &&
                       AsciiUpper(t.columns[pk[0].second].declared_type) == "INTEGER";
    t.key_source = rowid_alias ? "INTEGER PRIMARY KEY (rowid)" : "PRIMARY KEY";
    for (int c : t.key_columns) {
      // SQLite enforces NOT NULL on WITHOUT ROWID keys and on rowid aliases; a rowid table's
      // other PRIMARY KEY columns accept NULL unless declared NOT NULL.
      if (without_rowid || rowid_alias) t.columns[c].not_null = true;
      if (!t.columns[c].not_null) t.key_nullable = true;
    }
  } else {
    std::vector<std::string> why;
    OWSYNC_ASSIGN_OR_RETURN(std::vector<UniqueIndex> candidates, UsableUniqueIndexes(db, t, &why));
    if (candidates.empty()) {
      t.reason =
          "no PRIMARY KEY and no UNIQUE index over NOT NULL columns (the rowid is not "
          "stable across VACUUM)";
      for (const auto& w : why) t.reason += "; " + w;
      return t;
    }
    std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
      if (a.columns.size() != b.columns.size()) return a.columns.size() < b.columns.size();
      if (a.from_constraint != b.from_constraint) return a.from_constraint;
      return a.name < b.name;
    });
    t.key_columns = candidates.front().columns;
    t.key_source = "UNIQUE INDEX " + QuoteIdentifier(candidates.front().name);
    key_index = candidates.front().name;
  }
  for (size_t i = 0; i < t.key_columns.size(); ++i) {
    t.columns[t.key_columns[i]].key_position = static_cast<uint32_t>(i + 1);
  }
  OWSYNC_RETURN_IF_ERROR(FindKeyCollations(db, key_index, &t));
  OWSYNC_RETURN_IF_ERROR(FindReplaceConditions(db, &t));
  t.replicable = true;
  return t;
}

Result<Catalog> SchemaInspector::Inspect(SqliteDb* db, const TableFilter& filter) {
  Catalog catalog;
  OWSYNC_ASSIGN_OR_RETURN(catalog.schema_version, db->SchemaVersion());
  OWSYNC_ASSIGN_OR_RETURN(
      SqliteStmt list,
      db->Prepare("SELECT name, type, wr FROM pragma_table_list WHERE schema = 'main' "
                  "ORDER BY name"));
  struct Entry {
    std::string name, type;
    bool wr;
  };
  std::vector<Entry> entries;
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) break;
    entries.push_back({list.ColumnText(0), list.ColumnText(1), list.ColumnInt64(2) != 0});
  }
  for (const auto& e : entries) {
    if (TableFilter::IsInternal(e.name) || e.type == "view") continue;
    TableInfo t;
    if (e.type == "table") {
      OWSYNC_ASSIGN_OR_RETURN(t, InspectTable(db, e.name, e.wr));
    } else {
      t.name = e.name;
      t.reason = e.type == "virtual" ? "virtual table (SQLite cannot put triggers on it)"
                                     : e.type + " table of a virtual table (derived data)";
    }
    if (!filter.Includes(e.name)) {
      t.replicable = false;
      t.excluded = true;
      t.reason = "excluded by the table list (--include/--exclude)";
    }
    catalog.tables.push_back(std::move(t));
  }
  return catalog;
}

}  // namespace owsync::capture
