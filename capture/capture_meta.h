// CaptureMeta: owsync's key/value table inside the tenant database,
//   _owsync_meta(key TEXT PRIMARY KEY, value)
// holding the database generation id, the id of the outbox it feeds, the last drained seq and
// when, the drain token and its predecessor, the format version, and one "snapshot:<table>" entry
// per table whose snapshot is owed (set in the same transaction that installs its triggers, cleared
// once the snapshot's end record is durable, so a crash in between re-runs the snapshot). Methods
// run inside the caller's transaction (writes: BEGIN IMMEDIATE).
#ifndef OWSYNC_CAPTURE_CAPTURE_META_H_
#define OWSYNC_CAPTURE_CAPTURE_META_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "capture/sqlite_db.h"
#include "util/result.h"
#include "util/status.h"

namespace owsync::capture {

class CaptureMeta {
 public:
  static constexpr char kTable[] = "_owsync_meta";
  static constexpr char kFormat[] = "format";
  static constexpr char kGeneration[] = "generation";
  static constexpr char kOutboxId[] = "outbox_id";
  static constexpr char kDrainedSeq[] = "drained_seq";
  static constexpr char kDrainedAt[] = "drained_at";  // unix micros
  // The drain token (docs/capture.md): rotated by every read whose rows reach the outbox;
  // prev is the outbox's last durable token at that rotation (see DrainToken).
  static constexpr char kDrainToken[] = "drain_token";
  static constexpr char kPrevDrainToken[] = "prev_drain_token";
  static constexpr char kSnapshotPrefix[] = "snapshot:";
  // "columns:<table>": the table's ColumnSignature as capture last saw it.
  static constexpr char kColumnsPrefix[] = "columns:";
  static constexpr char kFormatVersion[] = "1";

  explicit CaptureMeta(SqliteDb* db) : db_(db) {}

  [[nodiscard]] Status Create();
  Result<bool> Exists();
  Result<std::optional<std::string>> Get(std::string_view key);
  [[nodiscard]] Status Put(std::string_view key, std::string_view value);
  [[nodiscard]] Status Delete(std::string_view key);
  Result<std::map<std::string, std::string>> GetAll();

  // Entries whose key starts with `prefix`, keyed by the rest of the key.
  Result<std::map<std::string, std::string>> GetWithPrefix(std::string_view prefix);
  // Tables that owe a snapshot -> the entry's value (why, plus a unique tag).
  Result<std::map<std::string, std::string>> PendingSnapshots();
  // Records that `table` owes a snapshot; a new mark replaces an older one (new tag).
  [[nodiscard]] Status MarkSnapshot(std::string_view table, std::string_view reason);
  // Clears the mark only if it still has `value` (a mark set again meanwhile stays).
  [[nodiscard]] Status ClearSnapshot(std::string_view table, std::string_view value);
  [[nodiscard]] Status Drop();

 private:
  SqliteDb* db_;
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_CAPTURE_META_H_
