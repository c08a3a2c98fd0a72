// RowDigest: the digest of one row that capture (from SQLite) and the shipper (from what
// PostgreSQL holds) compute alike for in-stream verification (outbox/verify_range.h). Each value
// is put into the canonical form of its column's family (TargetTypeForDeclared of the declared
// type), so that a SQLite value and the value the copy encoder made of it in PostgreSQL have
// the same form, and a value that does not fit its column (a dead letter) has a form no
// PostgreSQL value has:
//   NULL                       -> 'N'
//   bigint   integer           -> 'I' + 8 bytes little-endian
//   boolean  integer 0 or 1    -> 'B' + 1 byte
//   double   real, or integer a double holds exactly
//                              -> 'D' + the 8 bytes of the IEEE-754 pattern (every NaN as one)
//   numeric  integer           -> 'I' + 8 bytes; real: integral and within int64 -> as that
//                                 integer, else 'D' + 8 bytes
//   text     text              -> 'T' + varint length + bytes; integer and real as their text
//                                 (decimal; DoubleText)
//   bytea    text or blob      -> 'X' + varint length + bytes
//   jsonb    text              -> 'J' + varint length + CanonicalJson; integer and finite real
//                                 as the canonical JSON number of their text
//   anything else              -> '?' + type tag + varint length + the value's bytes
// The digest of a row is XXH3-64 of the forms of its values in column order.
#ifndef OWSYNC_CANONICAL_ROW_DIGEST_H_
#define OWSYNC_CANONICAL_ROW_DIGEST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "canonical/target_type.h"
#include "outbox/value.h"

namespace owsync::canonical {

class RowDigest {
 public:
  // Appends the canonical form of `value` in a column of `family` to *out.
  static void AppendValue(TargetType family, const outbox::Value& value, std::string* out);
  // The digest of `row` (families[i] is the family of row[i]; the sizes match).
  static uint64_t Of(const std::vector<TargetType>& families,
                     const std::vector<outbox::Value>& row);
  // The families of columns declared `declared_types`.
  static std::vector<TargetType> FamiliesOf(const std::vector<std::string>& declared_types);
};

}  // namespace owsync::canonical

#endif  // OWSYNC_CANONICAL_ROW_DIGEST_H_
