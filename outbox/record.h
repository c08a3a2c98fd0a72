// Record: one entry of a tenant's outbox. The capture produces them, the outbox stores them,
// the shipper applies them. The byte encoding is specified in outbox/format.h.
#ifndef OWSYNC_OUTBOX_RECORD_H_
#define OWSYNC_OUTBOX_RECORD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "outbox/value.h"

namespace owsync::outbox {

enum class RecordType : uint8_t {
  kUpsert = 1,         // the full current row image of `key` in `table`
  kDelete = 2,         // `key` no longer exists in `table`
  kSchema = 3,         // `table` has these columns from now on
  kSnapshotBegin = 4,  // a snapshot of `table` starts (rows follow as upserts)
  kSnapshotEnd = 5,    // the snapshot that began at `snapshot_begin_offset` is complete
  kVerify = 6,         // what `table` held over a key range at this point (VerifyRange)
};

// One column of a replicated table, in table order.
struct Column {
  std::string name;
  std::string declared_type;  // as written in CREATE TABLE ("" when none)
  uint32_t key_position = 0;  // 0: not a key column; 1..n: position in the table key
  bool not_null = false;
  friend bool operator==(const Column&, const Column&) = default;
};

struct Record {
  uint64_t offset = 0;      // assigned by the outbox writer; contiguous from the first record
  uint64_t source_seq = 0;  // changelog seq the record came from (0 for snapshot rows)
  RecordType type = RecordType::kUpsert;
  std::string table;
  std::vector<Value> key;              // kUpsert, kDelete: key values in key-position order
  std::vector<Value> row;              // kUpsert: every column in Column order of the latest schema
  std::vector<Column> columns;         // kSchema
  uint64_t snapshot_begin_offset = 0;  // kSnapshotEnd: offset of its kSnapshotBegin
  // The capture's drain token in force when the record was appended ("" = none; readers other
  // than the capture ignore it). Optional trailing field: see outbox/format.h.
  std::string capture_token;
  friend bool operator==(const Record&, const Record&) = default;
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_RECORD_H_
