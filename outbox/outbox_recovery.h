// OutboxRecovery: what the writer does on Open, holding the lock, before it appends: it checks
// every segment header against IDENTITY, finishes a generation switch that a crash interrupted
// (moves the old generation's segments to retired/<old id>/, removes a new segment that IDENTITY
// never adopted), and recovers the active segment: every block is crc-checked; a torn tail (an
// incomplete block, or a bad one with no valid block after it) is truncated; a bad block followed
// by valid data is Corruption naming file and byte offset, and nothing is cut.
#ifndef OWSYNC_OUTBOX_OUTBOX_RECOVERY_H_
#define OWSYNC_OUTBOX_OUTBOX_RECOVERY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "outbox/identity_file.h"
#include "outbox/outbox_dir.h"
#include "outbox/segment_header.h"
#include "util/file_system.h"
#include "util/logger.h"
#include "util/result.h"

namespace owsync::outbox {

struct RecoveredSegment {
  std::string path;
  SegmentHeader header;
  uint64_t header_bytes = 0;
  uint64_t size = 0;         // bytes kept: the header and every valid block
  uint64_t next_offset = 0;  // offset after the last record it holds
  uint64_t truncated_bytes = 0;
};

class OutboxRecovery {
 public:
  // Brings the directory into a state the writer can append to and returns its active segment.
  // `logger` may be null.
  static Result<RecoveredSegment> Run(FileSystem* fs, const OutboxDir& dir,
                                      const Identity& identity, Logger* logger);
  // Checks the blocks of the active segment `path` and truncates its torn tail, if any.
  static Result<RecoveredSegment> RecoverActiveSegment(FileSystem* fs, const std::string& path,
                                                       Logger* logger);
  // Moves `segments` (of outbox `old_id`) to dir/retired/<old_id>/, durably.
  [[nodiscard]] static Status RetireSegments(FileSystem* fs, const OutboxDir& dir,
                                             const std::vector<SegmentFile>& segments,
                                             const std::string& old_id);
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_OUTBOX_RECOVERY_H_
