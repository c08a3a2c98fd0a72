#include "capture/capture_admin.h"

#include "capture/capture_meta.h"
#include "capture/changelog.h"
#include "capture/schema_inspector.h"
#include "capture/sqlite_txn.h"
#include "capture/trigger_installer.h"

namespace owsync::capture {

Result<CaptureStatus> CaptureAdmin::ReadStatus(SqliteDb* db, const TableFilter& filter) {
  CaptureStatus status;
  OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginRead(db));
  OWSYNC_ASSIGN_OR_RETURN(status.catalog, SchemaInspector::Inspect(db, filter));
  Changelog changelog(db);
  CaptureMeta meta(db);
  OWSYNC_ASSIGN_OR_RETURN(bool have_changelog, changelog.Exists());
  OWSYNC_ASSIGN_OR_RETURN(bool have_meta, meta.Exists());
  status.installed = have_changelog && have_meta;
  if (have_changelog) {
    OWSYNC_ASSIGN_OR_RETURN(status.changelog, changelog.Stats());
  }
  if (have_meta) {
    OWSYNC_ASSIGN_OR_RETURN(auto all, meta.GetAll());
    for (auto& [key, value] : all) {
      if (key.rfind(CaptureMeta::kSnapshotPrefix, 0) == 0) continue;
      status.meta[key] = value;
    }
    OWSYNC_ASSIGN_OR_RETURN(status.pending_snapshots, meta.PendingSnapshots());
  }
  OWSYNC_ASSIGN_OR_RETURN(status.missing_triggers,
                          TriggerInstaller::TablesMissingTriggers(db, status.catalog));
  OWSYNC_RETURN_IF_ERROR(txn.Commit());
  return status;
}

Status CaptureAdmin::MarkSnapshots(SqliteDb* db, const Catalog& catalog, const std::string& table) {
  OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginImmediate(db));
  CaptureMeta meta(db);
  OWSYNC_ASSIGN_OR_RETURN(bool have_meta, meta.Exists());
  if (!have_meta) {
    return Status::FailedPrecondition("capture is not installed in this database");
  }
  if (table.empty()) {
    for (const TableInfo* t : catalog.Replicable()) {
      OWSYNC_RETURN_IF_ERROR(meta.MarkSnapshot(t->name, "requested"));
    }
  } else {
    const TableInfo* t = catalog.Find(table);
    if (t == nullptr) return Status::NotFound("no table \"" + table + "\" in the database");
    if (!t->replicable) {
      return Status::InvalidArgument("table \"" + table + "\" is not replicated: " + t->reason);
    }
    OWSYNC_RETURN_IF_ERROR(meta.MarkSnapshot(t->name, "requested"));
  }
  return txn.Commit();
}

Status CaptureAdmin::Uninstall(SqliteDb* db) {
  OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginImmediate(db));
  OWSYNC_RETURN_IF_ERROR(TriggerInstaller::RemoveAll(db));
  Changelog changelog(db);
  OWSYNC_RETURN_IF_ERROR(changelog.Drop());
  CaptureMeta meta(db);
  OWSYNC_RETURN_IF_ERROR(meta.Drop());
  return txn.Commit();
}

}  // namespace owsync::capture
