// TableInfo: what capture knows about one table of the tenant database: its columns (in table
// order, with declared type, not-null and position in the table key) and the key it is
// replicated by, or why it cannot be replicated.
#ifndef OWSYNC_CAPTURE_TABLE_INFO_H_
#define OWSYNC_CAPTURE_TABLE_INFO_H_

#include <string>
#include <vector>

#include "outbox/record.h"

namespace owsync::capture {

struct TableInfo {
  std::string name;  // exactly as in sqlite_schema
  std::vector<outbox::Column> columns;
  // Per column, its DEFAULT as SQL text ("" when none): a column added with a default changes
  // what existing rows read without any trigger firing.
  std::vector<std::string> column_defaults;
  // Indexes into `columns`, in key order (columns[key_columns[i]].key_position == i + 1).
  std::vector<int> key_columns;
  // The collation each key column is compared with in the key's index ("BINARY", "NOCASE",
  // ...), in key order: it decides whether PostgreSQL can order keys as SQLite does.
  std::vector<std::string> key_collations;
  // Where the key comes from: "PRIMARY KEY", "INTEGER PRIMARY KEY (rowid)", or
  // "UNIQUE INDEX <name>"; empty when not replicable.
  std::string key_source;
  bool without_rowid = false;
  // A key column may hold NULL (a PRIMARY KEY of a rowid table over columns not declared NOT
  // NULL: SQLite allows NULL there). Key lookups then use IS instead of =.
  bool key_nullable = false;

  // One SQL condition per UNIQUE index through which INSERT OR REPLACE, UPDATE OR REPLACE or
  // an ON CONFLICT REPLACE constraint deletes other rows without firing delete triggers: true
  // for a row of the table that the new row (NEW) collides with there. Every UNIQUE index
  // but the key's own (unless that one compares with a collation other than BINARY).
  std::vector<std::string> replace_conditions;
  // UNIQUE indexes whose terms could not be read (their REPLACE deletes are found by
  // in-stream verification only); for the log.
  std::vector<std::string> unwatched_indexes;

  bool replicable = false;
  bool excluded = false;  // by the include/exclude lists (then not replicable)
  std::string reason;     // why it is not replicable (for the log and --status)

  std::vector<std::string> KeyNames() const {
    std::vector<std::string> names;
    for (int i : key_columns) names.push_back(columns[i].name);
    return names;
  }
  std::vector<std::string> ColumnNames() const {
    std::vector<std::string> names;
    for (const auto& c : columns) names.push_back(c.name);
    return names;
  }
  friend bool operator==(const TableInfo&, const TableInfo&) = default;
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_TABLE_INFO_H_
