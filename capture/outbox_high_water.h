// ScanOutboxHighWater: the highest source_seq among the last `max_records` durable records of
// the outbox in `dir` (0 when none of them carries one). Capture's records carry the changelog
// position they were written at (changes their own seq; schema and snapshot begin/end records
// the counter capture had seen), so this is how far into the database's changelog the outbox
// already reaches; GenerationGuard compares it with the database's counter at start-up.
// Reads through OutboxReader, without the writer's lock.
#ifndef OWSYNC_CAPTURE_OUTBOX_HIGH_WATER_H_
#define OWSYNC_CAPTURE_OUTBOX_HIGH_WATER_H_

#include <cstdint>
#include <string>

#include "util/file_system.h"
#include "util/result.h"

namespace owsync::capture {

Result<uint64_t> ScanOutboxHighWater(FileSystem* fs, const std::string& dir,
                                     uint64_t durable_offset, uint64_t max_records);

// The same scan, also returning the capture token of the last durable record that carries one
// ("" when none of the scanned records does: an outbox written before drain tokens, or empty).
// Capture stamps every record with the drain token in force, so the window always holds one
// once tokens are in use.
struct OutboxTail {
  uint64_t high_water = 0;
  std::string token;
};
Result<OutboxTail> ScanOutboxTail(FileSystem* fs, const std::string& dir, uint64_t durable_offset,
                                  uint64_t max_records);

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_OUTBOX_HIGH_WATER_H_
