#include "capture/outbox_high_water.h"

#include <algorithm>

#include "outbox/outbox_reader.h"

namespace owsync::capture {

Result<uint64_t> ScanOutboxHighWater(FileSystem* fs, const std::string& dir,
                                     uint64_t durable_offset, uint64_t max_records) {
  OWSYNC_ASSIGN_OR_RETURN(OutboxTail tail, ScanOutboxTail(fs, dir, durable_offset, max_records));
  return tail.high_water;
}

Result<OutboxTail> ScanOutboxTail(FileSystem* fs, const std::string& dir, uint64_t durable_offset,
                                  uint64_t max_records) {
  OutboxTail tail;
  if (durable_offset == 0) return tail;
  uint64_t from = durable_offset >= max_records ? durable_offset - max_records + 1 : 1;
  OWSYNC_ASSIGN_OR_RETURN(auto probe, outbox::OutboxReader::Open(fs, dir, 0));
  from = std::max(from, probe->first_retained_offset());
  probe.reset();
  OWSYNC_ASSIGN_OR_RETURN(auto reader, outbox::OutboxReader::Open(fs, dir, from));
  outbox::Record record;
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(bool more, reader->Next(&record));
    if (!more || record.offset > durable_offset) break;
    tail.high_water = std::max(tail.high_water, record.source_seq);
    if (!record.capture_token.empty()) tail.token = record.capture_token;
  }
  return tail;
}

}  // namespace owsync::capture
