// OutboxVerifier: the offline check behind `owsync outbox verify DIR`. Reads everything (every
// crc, every zstd frame, every record) without taking the writer's lock and without writing, so
// it may run next to a live writer: data past the durable watermark of the active segment may be
// incomplete and is then only a note. It stops at the first problem and names file and byte
// offset.
#ifndef OWSYNC_OUTBOX_OUTBOX_VERIFIER_H_
#define OWSYNC_OUTBOX_OUTBOX_VERIFIER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "outbox/acked_file.h"
#include "outbox/watermark.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::outbox {

struct VerifyReport {
  bool ok = true;
  std::string error;               // the first problem ("<file>: byte <n>: <what>") when !ok
  std::vector<std::string> notes;  // worth knowing, not wrong (a torn tail past the watermark, ...)
  std::string outbox_id;
  std::string database_generation;
  uint64_t segments = 0;
  uint64_t blocks = 0;
  uint64_t records = 0;
  uint64_t first_offset = 0;  // first retained offset
  uint64_t last_offset = 0;   // last offset in complete valid blocks (first_offset - 1 if none)
  std::optional<Watermark> watermark;  // when DURABLE holds a valid one of this outbox
  std::optional<Acked> acked;          // when ACKED exists
};

class OutboxVerifier {
 public:
  // NotFound if `dir` does not exist; other errors only for I/O failures. Problems with the data
  // are reported in the VerifyReport.
  static Result<VerifyReport> Verify(FileSystem* fs, const std::string& dir);
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_OUTBOX_VERIFIER_H_
