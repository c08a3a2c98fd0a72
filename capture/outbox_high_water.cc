#include "capture/outbox_high_water.h"

#include <algorithm>

#include "outbox/outbox_reader.h"

namespace owsync::capture {

Result<uint64_t> ScanOutboxHighWater(FileSystem* fs, const std::string& dir,
                                     uint64_t durable_offset, uint64_t max_records) {
  if (durable_offset == 0) return uint64_t{0};
  uint64_t from = durable_offset >= max_records ? durable_offset - max_records + 1 : 1;
  OWSYNC_ASSIGN_OR_RETURN(auto probe, outbox::OutboxReader::Open(fs, dir, 0));
  from = std::max(from, probe->first_retained_offset());
  probe.reset();
  OWSYNC_ASSIGN_OR_RETURN(auto reader, outbox::OutboxReader::Open(fs, dir, from));
  uint64_t high = 0;
  outbox::Record record;
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(bool more, reader->Next(&record));
    if (!more || record.offset > durable_offset) break;
    high = std::max(high, record.source_seq);
  }
  return high;
}

}  // namespace owsync::capture
