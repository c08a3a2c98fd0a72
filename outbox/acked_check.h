// AckedCheck: does this outbox still hold what PostgreSQL acknowledged? PostgreSQL keeps, per
// tenant, the acknowledged offset and the fingerprint of the record there (the shipper also
// writes both into ACKED). An outbox restored from an older copy together with its database
// (a VM or volume snapshot) is consistent by itself, so capture would go on appending at
// offsets PostgreSQL already acknowledged for other records, and a shipper resuming at acked+1
// would skip them. Run() tells it apart: the record at the acknowledged offset must exist and
// have the acknowledged fingerprint. It reads complete blocks (not only up to the watermark:
// what was acknowledged was durable), from any process; it never takes the writer's lock.
#ifndef OWSYNC_OUTBOX_ACKED_CHECK_H_
#define OWSYNC_OUTBOX_ACKED_CHECK_H_

#include <cstdint>
#include <string>

#include "util/file_system.h"
#include "util/result.h"

namespace owsync::outbox {

enum class AckedVerdict {
  kHeld,         // the record is there with that fingerprint (or none was given)
  kNotRetained,  // deleted by retention, or the outbox begins after it: cannot tell
  kBeyondEnd,    // the outbox ends below the acknowledged offset: PostgreSQL is ahead
  kDiffers,      // another record is at that offset: the outbox took another course
};

struct AckedCheckResult {
  AckedVerdict verdict = AckedVerdict::kHeld;
  uint64_t first_retained = 0;    // the outbox's first retained offset
  uint64_t data_end = 0;          // kBeyondEnd: the outbox's durable offset (0 if none published)
  std::string found_fingerprint;  // kDiffers: the fingerprint of the record found there
};

class AckedCheck {
 public:
  // Checks outbox `dir` (any generation: the caller compares outbox ids first) against
  // `acked_offset` (0 = nothing acknowledged: kHeld) and `fingerprint` (hex; "" = check only
  // that the offset exists). Errors: the outbox cannot be read (NotFound, Corruption, IOError).
  static Result<AckedCheckResult> Run(FileSystem* fs, const std::string& dir, uint64_t acked_offset,
                                      const std::string& fingerprint);
  // "PostgreSQL acknowledged offset 120 of outbox X, but the outbox ends at offset 80" / "...
  // holds another record there (fingerprint ...)": for messages.
  static std::string Describe(const AckedCheckResult& r, uint64_t acked_offset,
                              const std::string& outbox_id, const std::string& fingerprint);
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_ACKED_CHECK_H_
