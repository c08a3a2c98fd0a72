#include "capture/table_queries.h"

#include "capture/sql_quote.h"

namespace owsync::capture {
namespace {

std::string SelectColumns(const TableInfo& t) {
  return "SELECT " + QuoteIdentifierList(t.ColumnNames()) + " FROM " + QuoteIdentifier(t.name);
}

std::string OrderByKey(const TableInfo& t) {
  return " ORDER BY " + QuoteIdentifierList(t.KeyNames());
}

std::string Param(size_t i) { return "?" + std::to_string(i); }

}  // namespace

std::string TableQueries::SelectByKey(const TableInfo& t) {
  std::string sql = SelectColumns(t) + " WHERE ";
  for (size_t i = 0; i < t.key_columns.size(); ++i) {
    const auto& c = t.columns[t.key_columns[i]];
    if (i > 0) sql += " AND ";
    sql += QuoteIdentifier(c.name) + (c.not_null ? " = " : " IS ") + Param(i + 1);
  }
  return sql;
}

// Keyset pagination skips rows with a NULL key column (they are read by SelectNullKeyChunk):
// "k > NULL" is never true, so a NULL cursor would end the scan early.
static std::string NotNullKeys(const TableInfo& t) {
  std::string out;
  for (int k : t.key_columns) {
    const auto& c = t.columns[k];
    if (c.not_null) continue;
    if (!out.empty()) out += " AND ";
    out += QuoteIdentifier(c.name) + " IS NOT NULL";
  }
  return out;
}

std::string TableQueries::SelectFirstChunk(const TableInfo& t) {
  std::string not_null = NotNullKeys(t);
  return SelectColumns(t) + (not_null.empty() ? "" : " WHERE " + not_null) + OrderByKey(t) +
         " LIMIT ?1";
}

std::string TableQueries::SelectNextChunk(const TableInfo& t) {
  const size_t n = t.key_columns.size();
  std::string lhs, rhs;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) {
      lhs += ", ";
      rhs += ", ";
    }
    lhs += QuoteIdentifier(t.columns[t.key_columns[i]].name);
    rhs += Param(i + 1);
  }
  std::string where = n == 1 ? lhs + " > " + rhs : "(" + lhs + ") > (" + rhs + ")";
  std::string not_null = NotNullKeys(t);
  if (!not_null.empty()) where += " AND " + not_null;
  return SelectColumns(t) + " WHERE " + where + OrderByKey(t) + " LIMIT " + Param(n + 1);
}

std::string TableQueries::SelectNullKeyChunk(const TableInfo& t) {
  std::string nulls;
  for (int k : t.key_columns) {
    const auto& c = t.columns[k];
    if (c.not_null) continue;
    if (!nulls.empty()) nulls += " OR ";
    nulls += QuoteIdentifier(c.name) + " IS NULL";
  }
  return "SELECT _rowid_, " + QuoteIdentifierList(t.ColumnNames()) + " FROM " +
         QuoteIdentifier(t.name) + " WHERE _rowid_ > ?1 AND (" + nulls +
         ") ORDER BY _rowid_ LIMIT ?2";
}

uint64_t TableQueries::ReadRow(const SqliteStmt& stmt, int first, size_t n,
                               std::vector<outbox::Value>* row) {
  row->clear();
  row->reserve(n);
  uint64_t bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    row->push_back(stmt.ColumnValue(first + static_cast<int>(i)));
    bytes += ValueBytes(row->back());
  }
  return bytes;
}

std::vector<outbox::Value> TableQueries::KeyOf(const TableInfo& t,
                                               const std::vector<outbox::Value>& row) {
  std::vector<outbox::Value> key;
  key.reserve(t.key_columns.size());
  for (int k : t.key_columns) key.push_back(row[k]);
  return key;
}

}  // namespace owsync::capture
