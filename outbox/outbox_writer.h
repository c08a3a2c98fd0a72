// OutboxWriter: the single writer of one tenant's outbox directory. Holds the directory's lock
// file for its lifetime; on Open it recovers (truncates a torn tail of the last segment).
//
// Durability: Append() only buffers. Commit() compresses the buffered records into blocks, writes
// them, fsyncs, and only then advances durable_offset() and publishes the durable watermark that
// readers (the shipper, in another process) never read past. A caller may delete its source
// (changelog rows) only for records at or below durable_offset().
//
// Errors: an I/O error or a full disk from Commit() leaves the writer unusable for further
// appends (the caller reopens it); records not committed are the caller's to resend. Nothing
// committed is ever lost.
#ifndef OWSYNC_OUTBOX_OUTBOX_WRITER_H_
#define OWSYNC_OUTBOX_OUTBOX_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "outbox/record.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/logger.h"
#include "util/result.h"

namespace owsync::outbox {

struct OutboxWriterOptions {
  uint64_t segment_bytes = 64ull << 20;  // rotate to a new segment past this size
  uint64_t block_bytes = 1ull << 20;     // uncompressed bytes per compressed block (target)
  int zstd_level = 1;
  // Identity written into a new outbox (and checked against an existing one when non-empty).
  std::string outbox_id;  // "" on Open: keep the existing id or generate a new one
  // The tenant database's generation id, written into a new outbox. An existing outbox keeps
  // its own (database_generation() tells it): a caller that finds it differs calls
  // StartNewGeneration().
  std::string database_generation;
  Logger* logger = nullptr;  // recovery reports (torn tail truncated, ...); may be null
};

class OutboxWriter {
 public:
  // Opens (creating if needed) the outbox in `dir`. Busy if another writer holds the lock.
  // FailedPrecondition if options.outbox_id is set and differs from the existing one.
  // Corruption (naming file and byte offset) if recovery finds damaged data it must not cut.
  // Not thread-safe: one thread uses the writer.
  static Result<std::unique_ptr<OutboxWriter>> Open(FileSystem* fs, Clock* clock,
                                                    const std::string& dir,
                                                    const OutboxWriterOptions& options);
  virtual ~OutboxWriter() = default;

  // Buffers `record`, assigning it the next offset (returned, also set in record->offset).
  virtual Result<uint64_t> Append(Record* record) = 0;
  // Makes every appended record durable (write + fsync), then publishes the watermark.
  [[nodiscard]] virtual Status Commit() = 0;

  virtual uint64_t durable_offset() const = 0;  // highest durable offset; 0 when empty
  virtual uint64_t next_offset() const = 0;     // offset the next Append gets
  virtual const std::string& outbox_id() const = 0;
  virtual const std::string& database_generation() const = 0;
  // Uncommitted bytes currently buffered (so callers can commit before memory grows).
  virtual uint64_t buffered_bytes() const = 0;
  // Deletes sealed segments whose last offset is below the acknowledged offset published by the
  // shipper in the directory (file ACKED, checked against outbox_id; the acknowledged record
  // itself is kept). Returns bytes freed. FailedPrecondition, deleting nothing, when ACKED
  // names another outbox, or an offset this outbox does not hold durably or holds another
  // record at (AckedCheck: the outbox was restored from an older copy).
  virtual Result<uint64_t> ApplyRetention() = 0;
  // Total bytes of segment files in the directory.
  virtual Result<uint64_t> DiskUsage() = 0;
  // Begins a new outbox generation (after the database was restored or replaced): commits what
  // is buffered, moves the current segments aside (kept, never deleted, under retired/<old id>/),
  // and continues with a new outbox id and `database_generation`. Offsets keep increasing across
  // generations so row versions stay comparable; the new generation starts at
  // `min_first_offset` or later (above what PostgreSQL acknowledged of an outbox restored from
  // an older copy). The caller then writes a full snapshot.
  [[nodiscard]] virtual Status StartNewGeneration(const std::string& database_generation,
                                                  uint64_t min_first_offset = 0) = 0;
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_OUTBOX_WRITER_H_
