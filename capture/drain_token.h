// DrainToken: the drain token protocol (docs/capture.md, "Restores while capture is stopped").
// _owsync_meta holds drain_token (current) and prev_drain_token. Every database read whose rows
// go to the outbox (a drain batch, a snapshot chunk) runs in a BEGIN IMMEDIATE transaction that
// first rotates the token: prev := the outbox's last durable token, current := a fresh random
// one, and the records appended from that read carry the new token. So a backup of the database
// taken before the read carries another token than the outbox's records of it, and a backup
// taken after it contains every change the read saw. GenerationGuard compares the tokens.
//
// Ordering rule: at most one token is in flight. Settle() (before BEGIN IMMEDIATE) commits the
// outbox when records of a rotated token are still buffered, so the prev written by the next
// rotation is always the outbox's last durable token.
#ifndef OWSYNC_CAPTURE_DRAIN_TOKEN_H_
#define OWSYNC_CAPTURE_DRAIN_TOKEN_H_

#include <string>

#include "capture/record_emitter.h"
#include "capture/sqlite_db.h"
#include "util/status.h"

namespace owsync::capture {

class DrainToken {
 public:
  // Before BEGIN IMMEDIATE: makes buffered records of a rotated token durable. Returns the
  // emitter's commit error.
  [[nodiscard]] static Status Settle(RecordEmitter* emitter);
  // Inside the caller's write transaction, before the read: writes the rotation to
  // _owsync_meta and starts the emitter's batch. If the transaction then fails, the caller
  // calls emitter->AbortBatch().
  [[nodiscard]] static Status Rotate(SqliteDb* db, RecordEmitter* emitter);
  // Writes current := token, prev := "" (a new generation: the outbox is empty).
  [[nodiscard]] static Status Restart(SqliteDb* db, const std::string& token);
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_DRAIN_TOKEN_H_
