#include "capture/drain_token.h"

#include "capture/capture_meta.h"
#include "capture/generation_guard.h"

namespace owsync::capture {

Status DrainToken::Settle(RecordEmitter* emitter) {
  if (!emitter->has_unsettled_token()) return Status::OK();
  return emitter->Commit();
}

Status DrainToken::Rotate(SqliteDb* db, RecordEmitter* emitter) {
  const std::string token = GenerationGuard::NewId();
  CaptureMeta meta(db);
  OWSYNC_RETURN_IF_ERROR(meta.Put(CaptureMeta::kPrevDrainToken, emitter->committed_token()));
  OWSYNC_RETURN_IF_ERROR(meta.Put(CaptureMeta::kDrainToken, token));
  emitter->BeginBatch(token);
  return Status::OK();
}

Status DrainToken::Restart(SqliteDb* db, const std::string& token) {
  CaptureMeta meta(db);
  OWSYNC_RETURN_IF_ERROR(meta.Put(CaptureMeta::kPrevDrainToken, ""));
  return meta.Put(CaptureMeta::kDrainToken, token);
}

}  // namespace owsync::capture
