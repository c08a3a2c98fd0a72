#include "capture/schema_watcher.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <optional>

#include "capture/capture_meta.h"
#include "capture/changelog.h"
#include "capture/column_signature.h"
#include "capture/schema_inspector.h"
#include "capture/sql_quote.h"
#include "capture/sqlite_txn.h"
#include "capture/trigger_installer.h"

namespace owsync::capture {
namespace {

// What one look at the schema found, before anything is written.
struct Inspection {
  Catalog catalog;
  TriggerPlan plan;
  std::map<std::string, std::string> stored;  // "columns:<table>" entries: table -> signature
};

}  // namespace

Result<bool> SchemaWatcher::Changed() {
  OWSYNC_ASSIGN_OR_RETURN(int64_t v, db_->SchemaVersion());
  return v != catalog_.schema_version;
}

// Compares each replicable table with what capture saw of it before: the signature stored in
// _owsync_meta (which survives restarts), else the catalog of this process.
void SchemaWatcher::CompareColumns(const Catalog& next, const std::set<std::string>& triggers_new,
                                   const std::map<std::string, std::string>& stored,
                                   ReconcileResult* result,
                                   std::map<std::string, std::string>* signatures) const {
  for (const TableInfo* t : next.Replicable()) {
    const TableInfo* before = have_catalog_ ? catalog_.FindReplicable(t->name) : nullptr;
    if (before == nullptr) {
      result->tables_new.push_back(t->name);
    } else if (before->columns != t->columns) {
      result->columns_changed.push_back(t->name);
    }
    const ColumnSignature now = ColumnSignature::Of(*t);
    std::optional<ColumnSignature> was;
    auto it = stored.find(t->name);
    if (it != stored.end()) {
      auto decoded = ColumnSignature::Decode(it->second);
      if (decoded.ok()) was = std::move(*decoded);
    } else if (before != nullptr) {
      was = ColumnSignature::Of(*before);
    }
    const std::string encoded = now.Encode();
    if (it == stored.end() || it->second != encoded) (*signatures)[t->name] = encoded;
    if (was.has_value() && triggers_new.count(t->name) == 0 && now.NeedsSnapshotAfter(*was)) {
      result->resnapshot_for_columns.push_back(t->name);
    }
  }
}

// One short BEGIN IMMEDIATE transaction: the trigger plan, the owed snapshots and the new
// signatures, only if the schema is still the one inspected (false: inspect again).
Result<bool> SchemaWatcher::Apply(const TriggerPlan& plan, int64_t schema_version,
                                  const ReconcileResult& result,
                                  const std::map<std::string, std::string>& signatures,
                                  const std::vector<std::string>& stale, int64_t* version_after) {
  *version_after = schema_version;
  if (plan.empty() && signatures.empty() && stale.empty()) return true;
  OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginImmediate(db_));
  OWSYNC_ASSIGN_OR_RETURN(int64_t v, db_->SchemaVersion());
  if (v != schema_version) return false;  // moved between read and write: start over
  if (!plan.empty()) {
    Changelog changelog(db_);
    OWSYNC_RETURN_IF_ERROR(changelog.EnsureKeyColumns(plan.key_columns_needed));
    OWSYNC_RETURN_IF_ERROR(TriggerInstaller::Apply(db_, plan));
  }
  CaptureMeta meta(db_);
  for (const auto& t : plan.tables_created) {
    OWSYNC_RETURN_IF_ERROR(meta.MarkSnapshot(t, "triggers installed"));
  }
  for (const auto& name : result.resnapshot_for_columns) {
    logger_->Info(
        "table \"{}\" gained columns existing rows may hold values in (DEFAULT or rename) or "
        "changed its key; a snapshot follows",
        name);
    OWSYNC_RETURN_IF_ERROR(meta.MarkSnapshot(name, "columns changed"));
  }
  for (const auto& [table, signature] : signatures) {
    OWSYNC_RETURN_IF_ERROR(meta.Put(std::string(CaptureMeta::kColumnsPrefix) + table, signature));
  }
  for (const auto& table : stale) {
    OWSYNC_RETURN_IF_ERROR(meta.Delete(std::string(CaptureMeta::kColumnsPrefix) + table));
  }
  OWSYNC_ASSIGN_OR_RETURN(*version_after, db_->SchemaVersion());
  OWSYNC_RETURN_IF_ERROR(txn.Commit());
  return true;
}

void SchemaWatcher::LogChanges(const Catalog& next, const TriggerPlan& plan,
                               const ReconcileResult& result) const {
  for (const auto& t : next.tables) {
    const TableInfo* before = have_catalog_ ? catalog_.Find(t.name) : nullptr;
    if (!t.replicable && (before == nullptr || before->replicable || before->reason != t.reason)) {
      if (t.excluded) {
        logger_->Info("table \"{}\" is not replicated: {}", t.name, t.reason);
      } else {
        logger_->Warn("table \"{}\" is NOT replicable: {}", t.name, t.reason);
      }
    }
  }
  for (const TableInfo* t : next.Replicable()) {
    const TableInfo* before = have_catalog_ ? catalog_.Find(t->name) : nullptr;
    if (t->unwatched_indexes.empty() ||
        (before != nullptr && before->unwatched_indexes == t->unwatched_indexes)) {
      continue;
    }
    logger_->Warn(
        "table \"{}\": rows an INSERT OR REPLACE deletes through UNIQUE index(es) {} are not "
        "seen by triggers; in-stream verification finds them",
        t->name, fmt::join(t->unwatched_indexes, ", "));
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
}

Result<ReconcileResult> SchemaWatcher::Reconcile() {
  constexpr int kAttempts = 5;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    Inspection in;
    {
      OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginRead(db_));
      OWSYNC_ASSIGN_OR_RETURN(in.catalog, SchemaInspector::Inspect(db_, filter_));
      OWSYNC_ASSIGN_OR_RETURN(in.plan, TriggerInstaller::Plan(db_, in.catalog));
      CaptureMeta meta(db_);
      OWSYNC_ASSIGN_OR_RETURN(bool have_meta, meta.Exists());
      if (have_meta) {
        OWSYNC_ASSIGN_OR_RETURN(in.stored, meta.GetWithPrefix(CaptureMeta::kColumnsPrefix));
      }
      OWSYNC_RETURN_IF_ERROR(txn.Commit());
    }
    ReconcileResult result;
    result.triggers_installed = in.plan.tables_created;
    std::map<std::string, std::string> signatures;
    CompareColumns(in.catalog, in.plan.tables_created, in.stored, &result, &signatures);
    std::vector<std::string> stale;
    for (const auto& [table, unused] : in.stored) {
      if (in.catalog.FindReplicable(table) == nullptr) stale.push_back(table);
    }
    OWSYNC_ASSIGN_OR_RETURN(bool applied, Apply(in.plan, in.catalog.schema_version, result,
                                                signatures, stale, &in.catalog.schema_version));
    if (!applied) continue;
    if (have_catalog_) {
      for (const TableInfo* t : catalog_.Replicable()) {
        if (in.catalog.FindReplicable(t->name) == nullptr) result.tables_gone.push_back(t->name);
      }
    }
    LogChanges(in.catalog, in.plan, result);
    catalog_ = std::move(in.catalog);
    have_catalog_ = true;
    return result;
  }
  return Status::Busy("the schema kept changing while capture reconciled its triggers");
}

}  // namespace owsync::capture
