#include "tests/table_comparator.h"

#include <algorithm>
#include <cstring>

#include "cli/sqlite_handle.h"
#include "cli/workload_key_cache.h"

namespace owsync::testing {
namespace {

using cli::QuoteIdentifier;
using outbox::Column;
using outbox::Value;
using outbox::ValueType;

int TypeRank(ValueType t) {
  switch (t) {
    case ValueType::kNull:
      return 0;
    case ValueType::kInteger:
    case ValueType::kReal:
      return 1;
    case ValueType::kText:
      return 2;
    case ValueType::kBlob:
      return 3;
  }
  return 4;
}

// SQLite's ORDER BY order (BINARY collation): NULL < numbers < text < blobs.
int CompareValues(const Value& a, const Value& b) {
  int ra = TypeRank(a.type), rb = TypeRank(b.type);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (ra == 1) {
    long double x = a.type == ValueType::kInteger ? static_cast<long double>(a.integer) : a.real;
    long double y = b.type == ValueType::kInteger ? static_cast<long double>(b.integer) : b.real;
    return x < y ? -1 : (y < x ? 1 : 0);
  }
  if (ra == 2 || ra == 3) {
    int c = a.bytes.compare(b.bytes);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return 0;
}

int CompareKeys(const std::vector<Value>& a, const std::vector<Value>& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    int c = CompareValues(a[i], b[i]);
    if (c != 0) return c;
  }
  return 0;
}

class RowCursor {
 public:
  static Result<RowCursor> Open(sqlite3* db, const std::string& sql, std::vector<size_t> key) {
    OWSYNC_ASSIGN_OR_RETURN(cli::SqliteStmt stmt, cli::PrepareSqlite(db, sql));
    RowCursor c(std::move(stmt), std::move(key), db);
    OWSYNC_RETURN_IF_ERROR(c.Advance());
    return c;
  }
  bool done() const { return done_; }
  const std::vector<Value>& row() const { return row_; }
  const std::vector<Value>& key() const { return key_values_; }
  Status Advance() {
    int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_DONE) {
      done_ = true;
      return Status::OK();
    }
    if (rc != SQLITE_ROW) return cli::SqliteStatus(db_, rc, "compare: read rows");
    int n = sqlite3_column_count(stmt_.get());
    row_.clear();
    for (int i = 0; i < n; ++i) row_.push_back(cli::ColumnValue(stmt_.get(), i));
    key_values_.clear();
    for (size_t k : key_) key_values_.push_back(row_[k]);
    return Status::OK();
  }

 private:
  RowCursor(cli::SqliteStmt stmt, std::vector<size_t> key, sqlite3* db)
      : stmt_(std::move(stmt)), key_(std::move(key)), db_(db) {}
  cli::SqliteStmt stmt_;
  std::vector<size_t> key_;
  sqlite3* db_;
  std::vector<Value> row_;
  std::vector<Value> key_values_;
  bool done_ = false;
};

Result<std::vector<std::string>> TableNames(sqlite3* db) {
  OWSYNC_ASSIGN_OR_RETURN(
      cli::SqliteStmt stmt,
      cli::PrepareSqlite(db,
                         "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE "
                         "'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_owsync%' ESCAPE '\\' "
                         "ORDER BY name"));
  std::vector<std::string> out;
  while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
    out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0)));
  }
  return out;
}

Result<std::vector<std::string>> ColumnNames(sqlite3* db, const std::string& table) {
  OWSYNC_ASSIGN_OR_RETURN(
      cli::SqliteStmt stmt,
      cli::PrepareSqlite(db, "PRAGMA table_info(" + QuoteIdentifier(table) + ")"));
  std::vector<std::string> out;
  while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
    out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 1)));
  }
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

class Run {
 public:
  Run(const ComparatorOptions& options, Comparison* out) : options_(options), out_(out) {}

  void Difference(std::string text) {
    ++out_->difference_count;
    if (out_->differences.size() < options_.max_reported)
      out_->differences.push_back(std::move(text));
  }

  Status CompareTable(sqlite3* source, sqlite3* copy, const std::string& table,
                      const std::vector<Column>& columns) {
    OWSYNC_ASSIGN_OR_RETURN(std::vector<std::string> source_columns, ColumnNames(source, table));
    std::vector<std::string> copy_columns;
    for (const Column& c : columns) copy_columns.push_back(c.name);
    if (source_columns != copy_columns) {
      Difference(table + ": columns differ: source (" + Join(source_columns) + "), copy (" +
                 Join(copy_columns) + ")");
      return Status::OK();
    }
    std::vector<size_t> key;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (columns[i].key_position > 0) key.push_back(i);
    }
    std::sort(key.begin(), key.end(), [&](size_t a, size_t b) {
      return columns[a].key_position < columns[b].key_position;
    });
    std::string select, order;
    for (const Column& c : columns)
      select += (select.empty() ? "" : ", ") + QuoteIdentifier(c.name);
    for (size_t k : key) {
      order += (order.empty() ? "" : ", ") + QuoteIdentifier(columns[k].name) + " COLLATE BINARY";
    }
    std::string sql = "SELECT " + select + " FROM " + QuoteIdentifier(table) + " ORDER BY " + order;
    OWSYNC_ASSIGN_OR_RETURN(RowCursor s, RowCursor::Open(source, sql, key));
    OWSYNC_ASSIGN_OR_RETURN(RowCursor c, RowCursor::Open(copy, sql, key));
    while (!s.done() || !c.done()) {
      int cmp = s.done() ? 1 : (c.done() ? -1 : CompareKeys(s.key(), c.key()));
      if (cmp < 0) {
        ++out_->rows_compared;
        Difference(table + " key " + TableComparator::DescribeKey(s.key()) +
                   ": in the source, missing in the copy");
        OWSYNC_RETURN_IF_ERROR(s.Advance());
      } else if (cmp > 0) {
        if (options_.tolerated_extra_rows.count({table, cli::WorkloadKeyCache::Encode(c.key())}) >
            0) {
          ++out_->tolerated_extra;
        } else {
          Difference(table + " key " + TableComparator::DescribeKey(c.key()) +
                     ": in the copy, not in the source");
        }
        OWSYNC_RETURN_IF_ERROR(c.Advance());
      } else {
        ++out_->rows_compared;
        for (size_t i = 0; i < columns.size(); ++i) {
          if (s.row()[i] == c.row()[i]) continue;
          Difference(table + " key " + TableComparator::DescribeKey(s.key()) + ": column " +
                     QuoteIdentifier(columns[i].name) + ": source " +
                     TableComparator::Describe(s.row()[i]) + " != copy " +
                     TableComparator::Describe(c.row()[i]));
        }
        OWSYNC_RETURN_IF_ERROR(s.Advance());
        OWSYNC_RETURN_IF_ERROR(c.Advance());
      }
    }
    return Status::OK();
  }

 private:
  const ComparatorOptions& options_;
  Comparison* out_;
};

}  // namespace

std::string Comparison::Summary() const {
  std::string out = std::to_string(tables) + " tables, " + std::to_string(rows_compared) +
                    " source rows, " + std::to_string(tolerated_extra) + " tolerated extra rows, " +
                    std::to_string(difference_count) + " differences";
  for (const std::string& d : differences) out += "\n  " + d;
  if (difference_count > static_cast<int64_t>(differences.size())) out += "\n  ...";
  return out;
}

std::string TableComparator::Describe(const Value& v) {
  auto escaped = [](const std::string& bytes, bool hex) {
    std::string out;
    static constexpr char kHex[] = "0123456789abcdef";
    size_t n = std::min<size_t>(bytes.size(), 48);
    for (size_t i = 0; i < n; ++i) {
      unsigned char ch = static_cast<unsigned char>(bytes[i]);
      if (!hex && ch >= 0x20 && ch < 0x7f && ch != '\\') {
        out += static_cast<char>(ch);
      } else {
        out += hex ? "" : "\\x";
        out += kHex[ch >> 4];
        out += kHex[ch & 15];
      }
    }
    return out + (bytes.size() > n ? "..." : "");
  };
  switch (v.type) {
    case ValueType::kNull:
      return "NULL";
    case ValueType::kInteger:
      return "integer " + std::to_string(v.integer);
    case ValueType::kReal: {
      uint64_t bits;
      std::memcpy(&bits, &v.real, sizeof bits);
      char buf[64];
      std::snprintf(buf, sizeof buf, "real %.17g (bits %016llx)", v.real,
                    static_cast<unsigned long long>(bits));
      return buf;
    }
    case ValueType::kText:
      return "text(" + std::to_string(v.bytes.size()) + ") '" + escaped(v.bytes, false) + "'";
    case ValueType::kBlob:
      return "blob(" + std::to_string(v.bytes.size()) + ") x'" + escaped(v.bytes, true) + "'";
  }
  return "?";
}

std::string TableComparator::DescribeKey(const std::vector<Value>& key) {
  std::string out = "(";
  for (const Value& v : key) out += (out.size() > 1 ? ", " : "") + Describe(v);
  return out + ")";
}

Result<Comparison> TableComparator::Compare(
    sqlite3* source, sqlite3* copy, const std::map<std::string, std::vector<Column>>& copy_tables,
    const ComparatorOptions& options) {
  Comparison out;
  Run run(options, &out);
  auto skipped = [&](const std::string& t) {
    return std::find(options.skip_tables.begin(), options.skip_tables.end(), t) !=
           options.skip_tables.end();
  };
  OWSYNC_ASSIGN_OR_RETURN(std::vector<std::string> source_tables, TableNames(source));
  for (const std::string& table : source_tables) {
    if (skipped(table)) continue;
    ++out.tables;
    auto it = copy_tables.find(table);
    if (it == copy_tables.end()) {
      OWSYNC_ASSIGN_OR_RETURN(
          int64_t rows, cli::QueryInt(source, "SELECT count(*) FROM " + QuoteIdentifier(table)));
      run.Difference(table + ": in the source (" + std::to_string(rows) +
                     " rows), never described by the outbox");
      continue;
    }
    OWSYNC_RETURN_IF_ERROR(run.CompareTable(source, copy, table, it->second));
  }
  for (const auto& [table, columns] : copy_tables) {
    if (skipped(table) ||
        std::find(source_tables.begin(), source_tables.end(), table) != source_tables.end()) {
      continue;
    }
    OWSYNC_ASSIGN_OR_RETURN(int64_t rows,
                            cli::QueryInt(copy, "SELECT count(*) FROM " + QuoteIdentifier(table)));
    if (rows > 0) {
      run.Difference(table + ": " + std::to_string(rows) +
                     " rows in the copy, table no longer in the source");
    }
  }
  return out;
}

}  // namespace owsync::testing
