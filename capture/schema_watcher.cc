#include "capture/schema_watcher.h"

#include "capture/capture_meta.h"
#include "capture/changelog.h"
#include "capture/schema_inspector.h"
#include "capture/sql_quote.h"
#include "capture/sqlite_txn.h"
#include "capture/trigger_installer.h"

namespace owsync::capture {
namespace {

bool HasColumn(const TableInfo& t, const std::string& name) {
  for (const auto& c : t.columns) {
    if (c.name == name) return true;
  }
  return false;
}

// Whether columns that `after` has and `before` had not may hold non-NULL values in rows that
// existed before: added with a DEFAULT, or renamed (a column also went away).
bool NewColumnsHoldValues(const TableInfo& before, const TableInfo& after) {
  bool added_with_default = false, added = false, removed = false;
  for (size_t i = 0; i < after.columns.size(); ++i) {
    if (HasColumn(before, after.columns[i].name)) continue;
    added = true;
    if (i < after.column_defaults.size() && !after.column_defaults[i].empty()) {
      added_with_default = true;
    }
  }
  for (const auto& c : before.columns) {
    if (!HasColumn(after, c.name)) removed = true;
  }
  return added_with_default || (added && removed);
}

}  // namespace

Result<bool> SchemaWatcher::Changed() {
  OWSYNC_ASSIGN_OR_RETURN(int64_t v, db_->SchemaVersion());
  return v != catalog_.schema_version;
}

Result<ReconcileResult> SchemaWatcher::Reconcile() {
  constexpr int kAttempts = 5;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    Catalog next;
    TriggerPlan plan;
    {
      OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginRead(db_));
      OWSYNC_ASSIGN_OR_RETURN(next, SchemaInspector::Inspect(db_, filter_));
      OWSYNC_ASSIGN_OR_RETURN(plan, TriggerInstaller::Plan(db_, next));
      OWSYNC_RETURN_IF_ERROR(txn.Commit());
    }
    if (!plan.empty()) {
      OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginImmediate(db_));
      OWSYNC_ASSIGN_OR_RETURN(int64_t v, db_->SchemaVersion());
      if (v != next.schema_version) continue;  // moved between read and write: start over
      Changelog changelog(db_);
      OWSYNC_RETURN_IF_ERROR(changelog.EnsureKeyColumns(plan.key_columns_needed));
      OWSYNC_RETURN_IF_ERROR(TriggerInstaller::Apply(db_, plan));
      CaptureMeta meta(db_);
      for (const auto& t : plan.tables_created) {
        OWSYNC_RETURN_IF_ERROR(meta.MarkSnapshot(t, "triggers installed"));
      }
      OWSYNC_ASSIGN_OR_RETURN(next.schema_version, db_->SchemaVersion());
      OWSYNC_RETURN_IF_ERROR(txn.Commit());
    }

    ReconcileResult result;
    result.triggers_installed = plan.tables_created;
    for (const TableInfo* t : next.Replicable()) {
      const TableInfo* before = have_catalog_ ? catalog_.FindReplicable(t->name) : nullptr;
      if (before == nullptr) {
        result.tables_new.push_back(t->name);
      } else if (before->columns != t->columns) {
        result.columns_changed.push_back(t->name);
        if (plan.tables_created.count(t->name) == 0 && NewColumnsHoldValues(*before, *t)) {
          result.resnapshot_for_columns.push_back(t->name);
        }
      }
    }
    if (!result.resnapshot_for_columns.empty()) {
      OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginImmediate(db_));
      CaptureMeta meta(db_);
      for (const auto& name : result.resnapshot_for_columns) {
        logger_->Info(
            "table \"{}\" gained columns existing rows may hold values in (DEFAULT or "
            "rename); a snapshot follows",
            name);
        OWSYNC_RETURN_IF_ERROR(meta.MarkSnapshot(name, "columns added"));
      }
      OWSYNC_RETURN_IF_ERROR(txn.Commit());
    }
    if (have_catalog_) {
      for (const TableInfo* t : catalog_.Replicable()) {
        if (next.FindReplicable(t->name) == nullptr) result.tables_gone.push_back(t->name);
      }
    }
    for (const auto& t : next.tables) {
      const TableInfo* before = have_catalog_ ? catalog_.Find(t.name) : nullptr;
      if (!t.replicable &&
          (before == nullptr || before->replicable || before->reason != t.reason)) {
        if (t.excluded) {
          logger_->Info("table \"{}\" is not replicated: {}", t.name, t.reason);
        } else {
          logger_->Warn("table \"{}\" is NOT replicable: {}", t.name, t.reason);
        }
      }
    }
    for (const auto& name : result.tables_gone) {
      logger_->Warn(
          "table \"{}\" is no longer replicated (dropped, renamed or lost its key); "
          "its PostgreSQL copy is left as it was",
          name);
    }
    for (const auto& name : result.columns_changed) {
      logger_->Info("table \"{}\" changed its columns; the new schema is carried", name);
    }
    if (!plan.tables_created.empty()) {
      std::string names;
      for (const auto& name : plan.tables_created) {
        names += (names.empty() ? "" : ", ") + QuoteIdentifier(name) + " (key " +
                 QuoteIdentifierList(next.Find(name)->KeyNames()) + ")";
      }
      logger_->Info("triggers installed on {} table(s): {}; a snapshot of each follows",
                    plan.tables_created.size(), names);
    }
    catalog_ = std::move(next);
    have_catalog_ = true;
    return result;
  }
  return Status::Busy("the schema kept changing while capture reconciled its triggers");
}

}  // namespace owsync::capture
