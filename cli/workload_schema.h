// WorkloadSchema: what the workload generator knows about the tables it writes, read from the
// database itself (so it follows a migration: after a rebuild it writes the new shapes).
// A table's key is its primary key, else its narrowest UNIQUE index over NOT NULL columns;
// tables without one, SQLite's and owsync's own tables are left out.
#ifndef OWSYNC_CLI_WORKLOAD_SCHEMA_H_
#define OWSYNC_CLI_WORKLOAD_SCHEMA_H_

#include <sqlite3.h>

#include <string>
#include <vector>

#include "util/result.h"

namespace owsync::cli {

struct WorkloadColumn {
  std::string name;
  std::string declared_type;  // upper-cased
  bool not_null = false;
  bool has_default = false;
  bool in_secondary_unique = false;  // part of a UNIQUE constraint other than the key
};

struct WorkloadTable {
  std::string name;
  std::vector<WorkloadColumn> columns;
  std::vector<int> key;  // column indexes, in key order
  // UNIQUE constraints over plain columns other than the key (INSERT OR REPLACE through one
  // of them deletes a row without a delete trigger).
  std::vector<std::vector<int>> secondary_uniques;
  // A single INTEGER PRIMARY KEY: the rowid itself.
  bool rowid_key = false;
  // Signature of columns and key, to notice a table that changed shape.
  std::string signature;

  bool IsKeyColumn(int column) const;
};

class WorkloadSchema {
 public:
  // Reads every table of `db` except sqlite_*, _owsync_* and those in `skip`.
  static Result<WorkloadSchema> Load(sqlite3* db, const std::vector<std::string>& skip);

  const std::vector<WorkloadTable>& tables() const { return tables_; }
  const WorkloadTable* Find(const std::string& name) const;

 private:
  std::vector<WorkloadTable> tables_;
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_WORKLOAD_SCHEMA_H_
