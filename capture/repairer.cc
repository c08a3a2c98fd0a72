#include "capture/repairer.h"

#include "capture/changelog.h"
#include "capture/drain_token.h"
#include "capture/sqlite_txn.h"
#include "outbox/repair_request.h"

namespace owsync::capture {

Result<uint64_t> Repairer::Step(const Catalog& catalog, const std::string& outbox_id) {
  const int64_t now = clock_->MonotonicMicros();
  if (last_look_ >= 0 && now - last_look_ < interval_micros_) return uint64_t{0};
  last_look_ = now;
  OWSYNC_ASSIGN_OR_RETURN(std::vector<std::string> paths,
                          outbox::RepairRequestFile::List(fs_, outbox_dir_));
  uint64_t sent = 0;
  for (const std::string& path : paths) {
    auto request = outbox::RepairRequestFile::Read(fs_, path);
    const TableInfo* t = request.ok() ? catalog.FindReplicable(request->table) : nullptr;
    if (!request.ok() || request->outbox_id != outbox_id || t == nullptr) {
      logger_->Warn("repair request {} dropped: {}", path,
                    !request.ok() ? request.status().ToString()
                    : request->outbox_id != outbox_id
                        ? "it is for outbox " + request->outbox_id + ", not this outbox's"
                        : "table \"" + request->table + "\" is not replicated now");
      OWSYNC_RETURN_IF_ERROR(outbox::RepairRequestFile::Remove(fs_, path));
      continue;
    }
    OWSYNC_RETURN_IF_ERROR(DrainToken::Settle(emitter_));
    OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginImmediate(db_));
    OWSYNC_RETURN_IF_ERROR(DrainToken::Rotate(db_, emitter_));
    uint64_t rows = 0;
    Status s = [&]() -> Status {
      Changelog changelog(db_);
      OWSYNC_ASSIGN_OR_RETURN(int64_t counter, changelog.Counter());
      for (const auto& key : request->keys) {
        if (key.size() != t->key_columns.size()) continue;  // the key changed since: a snapshot
        OWSYNC_ASSIGN_OR_RETURN(KeyEmitted e, keys_.Emit(*t, key, static_cast<uint64_t>(counter)));
        rows += e.upserts + e.deletes;
      }
      return Status::OK();
    }();
    if (s.ok()) s = txn.Commit();
    if (!s.ok()) {
      emitter_->AbortBatch();
      return s;
    }
    OWSYNC_RETURN_IF_ERROR(emitter_->Commit());
    OWSYNC_RETURN_IF_ERROR(outbox::RepairRequestFile::Remove(fs_, path));
    logger_->Info(
        "repair: sent {} record(s) of table \"{}\" again ({} key(s) PostgreSQL was "
        "found to differ on at outbox offset {})",
        rows, t->name, request->keys.size(), request->verify_offset);
    sent += rows;
  }
  rows_repaired_ += sent;
  return sent;
}

}  // namespace owsync::capture
