// Batch: one contiguous range of a tenant's outbox offsets, applied to PostgreSQL in one
// transaction together with the new acked offset (DESIGN.md invariant 2). Built by
// TenantShipper from the records its reader decoded; owns them.
#ifndef OWSYNC_SHIPPER_BATCH_H_
#define OWSYNC_SHIPPER_BATCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "outbox/record.h"

namespace owsync::shipper {

struct Batch {
  std::string outbox_id;                // the outbox the records come from
  std::vector<outbox::Record> records;  // offsets contiguous, ascending
  size_t bytes = 0;                     // approximate decoded size of the records
  std::string last_fingerprint;         // RecordFingerprint (hex) of the last record: acked with it

  bool empty() const { return records.empty(); }
  uint64_t first_offset() const { return records.empty() ? 0 : records.front().offset; }
  uint64_t last_offset() const { return records.empty() ? 0 : records.back().offset; }
};

// Approximate in-memory size of a record (row values and key), for byte bounds.
size_t RecordBytes(const outbox::Record& record);

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_BATCH_H_
