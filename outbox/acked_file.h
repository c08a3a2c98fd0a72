// AckedFile: the ACKED file of an outbox directory. The shipper writes it (atomically) after
// PostgreSQL committed a batch: every record at or below `acked_offset` (inclusive) of outbox
// `outbox_id` is safely in PostgreSQL, and the record at `acked_offset` has `fingerprint`
// (outbox/record_fingerprint.h; "" when unknown). The outbox writer reads it to delete sealed
// segments, and capture to notice an outbox that PostgreSQL is ahead of (AckedCheck).
#ifndef OWSYNC_OUTBOX_ACKED_FILE_H_
#define OWSYNC_OUTBOX_ACKED_FILE_H_

#include <cstdint>
#include <string>

#include "util/file_system.h"
#include "util/result.h"

namespace owsync::outbox {

struct Acked {
  std::string outbox_id;
  uint64_t acked_offset = 0;
  std::string fingerprint;  // 16 lower-case hex digits, or "" (an older shipper, or unknown)
  friend bool operator==(const Acked&, const Acked&) = default;
};

class AckedFile {
 public:
  // Replaces dir/ACKED atomically and durably (temp file, fsync, rename, fsync dir).
  [[nodiscard]] static Status Write(FileSystem* fs, const std::string& outbox_dir,
                                    const Acked& acked);
  // NotFound when there is no ACKED file yet; Corruption when it is malformed.
  static Result<Acked> Read(FileSystem* fs, const std::string& outbox_dir);
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_ACKED_FILE_H_
