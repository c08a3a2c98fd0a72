// SchemaWatcher: keeps the catalog in step with the tenant database's schema. Changed() is a
// cheap check of PRAGMA schema_version (run every drain); Reconcile() re-inspects the schema
// and repairs the triggers so that exactly the replicable tables carry exactly their current
// triggers:
//   - a new table gets triggers and owes a snapshot;
//   - a table rebuilt by a migration (copied, dropped, renamed: its triggers are gone) gets
//     them back and owes a re-snapshot, which also catches deletes made while it had none;
//   - triggers of tables no longer replicated (dropped, renamed, excluded) are removed;
//   - new columns appear in the catalog (the emitter announces them with kSchema); when the
//     new columns may hold values in existing rows that no trigger reported (a column added
//     with a non-NULL DEFAULT, or a column renamed: one gone and one new) or the key changed,
//     the table owes a re-snapshot too. A column added without a default reads NULL
//     everywhere: nothing to do. The comparison is with the ColumnSignature stored in
//     _owsync_meta, so a migration made while no capture ran is noticed at the next start.
// The repair runs in one short BEGIN IMMEDIATE transaction that first checks the schema did
// not move since it was read (else it starts over), and records the owed snapshots and the
// new signatures in _owsync_meta in the same transaction.
#ifndef OWSYNC_CAPTURE_SCHEMA_WATCHER_H_
#define OWSYNC_CAPTURE_SCHEMA_WATCHER_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "capture/catalog.h"
#include "capture/sqlite_db.h"
#include "capture/table_filter.h"
#include "capture/trigger_installer.h"
#include "util/logger.h"
#include "util/result.h"

namespace owsync::capture {

struct ReconcileResult {
  std::set<std::string> triggers_installed;         // tables that got triggers (owe a snapshot)
  std::vector<std::string> tables_gone;             // replicated before, not replicable now
  std::vector<std::string> tables_new;              // replicable now, not known before
  std::vector<std::string> columns_changed;         // same table, different columns
  std::vector<std::string> resnapshot_for_columns;  // of those, the ones owing a snapshot
};

class SchemaWatcher {
 public:
  SchemaWatcher(SqliteDb* db, TableFilter filter, Logger* logger)
      : db_(db), filter_(std::move(filter)), logger_(logger) {}

  // True when the schema moved since the catalog was read (or no catalog was read yet).
  Result<bool> Changed();
  Result<ReconcileResult> Reconcile();
  const Catalog& catalog() const { return catalog_; }
  // Forces the next Changed() to say true (after a reconnect).
  void Invalidate() { catalog_.schema_version = -1; }
  void set_db(SqliteDb* db) { db_ = db; }

 private:
  void CompareColumns(const Catalog& next, const std::set<std::string>& triggers_new,
                      const std::map<std::string, std::string>& stored, ReconcileResult* result,
                      std::map<std::string, std::string>* signatures) const;
  Result<bool> Apply(const TriggerPlan& plan, int64_t schema_version, const ReconcileResult& result,
                     const std::map<std::string, std::string>& signatures,
                     const std::vector<std::string>& stale, int64_t* version_after);
  void LogChanges(const Catalog& next, const TriggerPlan& plan,
                  const ReconcileResult& result) const;

  SqliteDb* db_;
  TableFilter filter_;
  Logger* logger_;
  Catalog catalog_;
  bool have_catalog_ = false;
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_SCHEMA_WATCHER_H_
