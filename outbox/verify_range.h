// VerifyRange: the content of a verify record (RecordType::kVerify; layout in outbox/format.h):
// what capture read of one table over one key range, at one point of the outbox stream: every
// row's key and RowDigest (canonical/row_digest.h). Once the shipper has applied every record
// before it, PostgreSQL must hold exactly these rows in that range (dead letters and rows
// changed in PostgreSQL aside); anything else is drift, repaired through the outbox.
//
// The range is (lower, upper] in the table's key order: lower exclusive (none = from the
// first key), upper inclusive (none = to the last key). Ranges of one pass tile the key space,
// so a row PostgreSQL holds that SQLite does not is inside some range. keys_only: the key order
// of SQLite and PostgreSQL may differ (a collation, mixed types), so only the listed keys are
// compared (extra rows in PostgreSQL are not found in such tables).
#ifndef OWSYNC_OUTBOX_VERIFY_RANGE_H_
#define OWSYNC_OUTBOX_VERIFY_RANGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "outbox/record.h"
#include "util/result.h"

namespace owsync::outbox {

struct VerifyEntry {
  std::vector<Value> key;
  uint64_t digest = 0;
  friend bool operator==(const VerifyEntry&, const VerifyEntry&) = default;
};

struct VerifyRange {
  std::string table;
  std::vector<Column> columns;  // in table order; key_position marks the key
  std::vector<Value> lower;     // exclusive; empty = from the first key
  std::vector<Value> upper;     // inclusive; empty = to the last key
  bool keys_only = false;
  std::vector<VerifyEntry> entries;  // in key order
  friend bool operator==(const VerifyRange&, const VerifyRange&) = default;

  size_t key_width() const;
  // The record (type kVerify; offset, source_seq and capture_token are the writer's).
  Record ToRecord() const;
  // Corruption when `record` is not a well-formed verify record.
  static Result<VerifyRange> FromRecord(const Record& record);
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_VERIFY_RANGE_H_
