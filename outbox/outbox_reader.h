// OutboxReader: reads one tenant's outbox from a given offset up to the durable watermark the
// writer published, in offset order, without taking the writer's lock. Several readers may read
// one outbox at once. A crc or decode error inside data below the watermark (or in a sealed
// segment) is Corruption naming the file and byte offset; it is never skipped. Nothing below
// the start offset is ever skipped unseen either: a start offset past the end of the outbox's
// data (more than one past the durable offset) is FailedPrecondition once the reader sees the
// end, and so is a durable watermark that goes back (the outbox was restored from a copy).
#ifndef OWSYNC_OUTBOX_OUTBOX_READER_H_
#define OWSYNC_OUTBOX_OUTBOX_READER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "outbox/record.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::outbox {

struct OutboxReaderOptions {
  // Offline tools only (dump, replay of a dead writer's outbox): ignore DURABLE and read every
  // complete, valid block; a torn tail of the active segment ends the data instead of being an
  // error. Such blocks may not be durable yet: never acknowledge anything read this way.
  bool ignore_watermark = false;
};

class OutboxReader {
 public:
  // Opens the outbox in `dir` for reading from `from_offset` (inclusive; 0 = the first retained
  // offset, which is 1 for a fresh outbox). NotFound if `dir` is not an outbox;
  // FailedPrecondition if from_offset is below the first retained offset (the records were
  // already deleted). Next() returns FailedPrecondition once the outbox was replaced by a new
  // generation (IDENTITY names another outbox id): reopen the reader.
  static Result<std::unique_ptr<OutboxReader>> Open(FileSystem* fs, const std::string& dir,
                                                    uint64_t from_offset);
  static Result<std::unique_ptr<OutboxReader>> Open(FileSystem* fs, const std::string& dir,
                                                    uint64_t from_offset,
                                                    const OutboxReaderOptions& options);
  virtual ~OutboxReader() = default;

  // Next record at or below the durable watermark into *record: true, false at the watermark
  // (call again later: the watermark moves as the writer commits), or an error.
  virtual Result<bool> Next(Record* record) = 0;

  // RecordFingerprint of the record Next() returned last (0 before the first).
  virtual uint64_t fingerprint() const = 0;

  virtual const std::string& outbox_id() const = 0;
  virtual const std::string& database_generation() const = 0;
  virtual uint64_t first_retained_offset() const = 0;
  // Re-reads the published watermark; returns it (the durable offset; 0 while no valid
  // watermark was ever seen: DURABLE missing or torn until the writer rewrites it).
  virtual Result<uint64_t> RefreshWatermark() = 0;
  // Whether a valid watermark of this outbox was seen (always false with ignore_watermark).
  virtual bool has_watermark() const = 0;
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_OUTBOX_READER_H_
