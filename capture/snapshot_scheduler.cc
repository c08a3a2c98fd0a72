#include "capture/snapshot_scheduler.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "capture/capture_meta.h"
#include "capture/sqlite_txn.h"

namespace owsync::capture {

void SnapshotScheduler::Abandon() {
  if (!snapshotter_.active()) return;
  snapshotter_.Abandon();
  ++abandoned_;
}

void SnapshotScheduler::Reset() {
  Abandon();
  queue_.clear();
}

void SnapshotScheduler::AbandonIfAny(const std::set<std::string>& tables) {
  if (snapshotter_.active() && tables.count(snapshotter_.table()) > 0) Abandon();
}

Status SnapshotScheduler::Load(const Catalog& catalog) {
  std::map<std::string, std::string> owed;
  {
    OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginRead(db_));
    CaptureMeta meta(db_);
    OWSYNC_ASSIGN_OR_RETURN(owed, meta.PendingSnapshots());
    OWSYNC_RETURN_IF_ERROR(txn.Commit());
  }
  std::vector<std::pair<std::string, std::string>> stale;
  for (const auto& [table, mark] : owed) {
    if (snapshotter_.active() && snapshotter_.table() == table) continue;
    if (catalog.FindReplicable(table) == nullptr) {
      stale.emplace_back(table, mark);
      continue;
    }
    if (std::find(queue_.begin(), queue_.end(), table) == queue_.end()) queue_.push_back(table);
  }
  if (!stale.empty()) {
    OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginImmediate(db_));
    CaptureMeta meta(db_);
    for (const auto& [table, mark] : stale) {
      logger_->Info("snapshot owed for \"{}\" dropped: the table is not replicated now", table);
      OWSYNC_RETURN_IF_ERROR(meta.ClearSnapshot(table, mark));
    }
    OWSYNC_RETURN_IF_ERROR(txn.Commit());
  }
  return Status::OK();
}

Status SnapshotScheduler::Step(const Catalog& catalog, bool* recheck) {
  while (!snapshotter_.active() && !queue_.empty()) {
    const std::string table = queue_.front();
    queue_.pop_front();
    const TableInfo* t = catalog.FindReplicable(table);
    if (t == nullptr) continue;  // Load() clears its mark
    std::optional<std::string> mark;
    {
      OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginRead(db_));
      CaptureMeta meta(db_);
      OWSYNC_ASSIGN_OR_RETURN(mark, meta.Get(std::string(CaptureMeta::kSnapshotPrefix) + table));
      OWSYNC_RETURN_IF_ERROR(txn.Commit());
    }
    if (!mark.has_value()) continue;  // done meanwhile
    active_mark_ = *mark;
    OWSYNC_RETURN_IF_ERROR(snapshotter_.Start(*t));
  }
  if (!snapshotter_.active()) return Status::OK();
  const std::string table = snapshotter_.table();
  OWSYNC_ASSIGN_OR_RETURN(SnapshotStep step, snapshotter_.Step(catalog));
  switch (step) {
    case SnapshotStep::kMore:
      break;
    case SnapshotStep::kSchemaChanged:
      *recheck = true;
      break;
    case SnapshotStep::kRestart:
      ++abandoned_;
      *recheck = true;  // reloads the queue; the mark is still set
      break;
    case SnapshotStep::kDone: {
      ++done_;
      OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginImmediate(db_));
      CaptureMeta meta(db_);
      OWSYNC_RETURN_IF_ERROR(meta.ClearSnapshot(table, active_mark_));
      OWSYNC_RETURN_IF_ERROR(txn.Commit());
      *recheck = true;  // a mark set again meanwhile is picked up
      break;
    }
  }
  return Status::OK();
}

}  // namespace owsync::capture
