// OutboxStats: the numbers behind `owsync outbox stats DIR`, from segment and block headers only
// (no payload is read or decompressed, so it is cheap on a large backlog). Takes no lock and
// writes nothing; safe next to a live writer. It does not check crcs of payloads: that is
// OutboxVerifier's job.
#ifndef OWSYNC_OUTBOX_OUTBOX_STATS_H_
#define OWSYNC_OUTBOX_OUTBOX_STATS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "outbox/acked_file.h"
#include "outbox/watermark.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::outbox {

struct OutboxStatsReport {
  std::string outbox_id;
  std::string database_generation;
  uint64_t segments = 0;
  uint64_t blocks = 0;
  uint64_t records = 0;
  uint64_t bytes_on_disk = 0;          // segment files of the current generation
  uint64_t stored_payload_bytes = 0;   // block payloads as stored (compressed)
  uint64_t raw_payload_bytes = 0;      // block payloads decompressed
  uint64_t first_offset = 0;           // first retained offset
  uint64_t last_offset = 0;            // last offset of the last complete block
  std::optional<Watermark> watermark;  // valid and of this outbox
  std::optional<Acked> acked;
  uint64_t retired_generations = 0;
  uint64_t retired_bytes = 0;
  std::vector<std::string> notes;  // where the header scan stopped early, and why
};

class OutboxStats {
 public:
  // NotFound if `dir` has no IDENTITY; Corruption if IDENTITY is unreadable.
  static Result<OutboxStatsReport> Collect(FileSystem* fs, const std::string& dir);
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_OUTBOX_STATS_H_
