// TriggerInstaller: the capture triggers. Per replicated table three AFTER triggers,
//   _owsync_<hash of table name>_ins / _upd / _del,
// append (tbl, op, ts, key values) to _owsync_changes in the application's own transaction.
// Their bodies reference key columns only (NEW.k / OLD.k), so a migration that drops another
// column cannot fail on them. A table with UNIQUE indexes besides its key also gets two BEFORE
// triggers, _bri / _bru (INSERT, UPDATE), that log the keys of the rows a REPLACE through
// those indexes is about to delete (SQLite fires no delete trigger for them); they name the
// indexed columns, so a migration must drop such an index's column by rebuilding the table
// (as Open WebUI's do), not with ALTER TABLE DROP COLUMN while the trigger names it. An UPDATE that
// changes the key (compared exactly: binary collation and storage type) also logs a delete of the
// old key. Only SQL that every SQLite since 3.8 runs is used: the application's library, not ours,
// executes the triggers.
//
// Plan() compares the triggers in the database with the ones the catalog needs (by name,
// table and exact SQL text, so triggers SQLite rewrote for a RENAME are replaced) and Apply()
// drops stale ones and creates missing ones inside the caller's BEGIN IMMEDIATE transaction.
// A table whose triggers had to be created may have missed changes: it is re-snapshotted.
#ifndef OWSYNC_CAPTURE_TRIGGER_INSTALLER_H_
#define OWSYNC_CAPTURE_TRIGGER_INSTALLER_H_

#include <set>
#include <string>
#include <vector>

#include "capture/catalog.h"
#include "capture/sqlite_db.h"
#include "util/result.h"
#include "util/status.h"

namespace owsync::capture {

struct TriggerDef {
  std::string name;
  std::string table;
  std::string sql;
  friend bool operator==(const TriggerDef&, const TriggerDef&) = default;
};

struct TriggerPlan {
  std::vector<std::string> drop;         // owsync triggers to remove
  std::vector<TriggerDef> create;        // triggers to create
  std::set<std::string> tables_created;  // tables getting (some of) their triggers now
  int key_columns_needed = 0;            // widest key among replicated tables
  bool empty() const { return drop.empty() && create.empty(); }
};

class TriggerInstaller {
 public:
  static constexpr char kPrefix[] = "_owsync_";

  // The triggers of a replicable table (three, or five with replace_conditions).
  static std::vector<TriggerDef> TriggersFor(const TableInfo& table);
  // Read-only: what Apply must do so the database has exactly the catalog's triggers.
  static Result<TriggerPlan> Plan(SqliteDb* db, const Catalog& catalog);
  // Executes the plan (caller holds a BEGIN IMMEDIATE transaction; the changelog has at least
  // plan.key_columns_needed key columns).
  [[nodiscard]] static Status Apply(SqliteDb* db, const TriggerPlan& plan);
  // Names of the replicable tables in `catalog` lacking any of their triggers.
  static Result<std::vector<std::string>> TablesMissingTriggers(SqliteDb* db,
                                                                const Catalog& catalog);
  // Drops every owsync trigger (caller's write transaction).
  [[nodiscard]] static Status RemoveAll(SqliteDb* db);
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_TRIGGER_INSTALLER_H_
