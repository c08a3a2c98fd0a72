// The text that names one row of a tenant table in sync_metadata: dead_letters.record_key and
// conflict_log.record_id. The shipper writes it, `owsync verify` matches it, so both use this
// one function.
//
// Format: the key values, in key order, as a JSON array, spelled exactly as PostgreSQL's
// json_build_array(k1, k2, ...)::text spells the same values stored in the target's key
// columns (so SQL can compute it from a target row): elements separated by ", ";
//   NULL     -> null
//   integer  -> decimal
//   real     -> PostgreSQL's float8 output (shortest exact round trip; fixed notation for
//               decimal exponents -4..14, else 1.5e+300 style; -0 stays -0); NaN, +inf and
//               -inf as the strings "NaN", "Infinity", "-Infinity"
//   text     -> a JSON string escaped as PostgreSQL does (\" \\ \b \f \n \r \t, other bytes
//               below 0x20 as \u00xx, everything else as it is) when it is valid UTF-8 without
//               NUL bytes; otherwise (such text cannot be in PostgreSQL) like a blob
//   blob     -> the JSON string "\\x<lower-case hex>" (bytea's text form)
// For a boolean key column SQL must use k::int (PostgreSQL would print true/false).
#ifndef OWSYNC_SHIPPER_RECORD_KEY_H_
#define OWSYNC_SHIPPER_RECORD_KEY_H_

#include <string>
#include <string_view>
#include <vector>

#include "outbox/value.h"

namespace owsync::shipper {

// The record key text of `key` (see above). Never fails.
std::string RecordKeyJson(const std::vector<outbox::Value>& key);

// One value as RecordKeyJson spells it, appended to *out.
void AppendRecordKeyValue(const outbox::Value& value, std::string* out);

// PostgreSQL's float8 output with extra_float_digits >= 1 ("NaN", "Infinity", "-Infinity",
// "-0", "0.1", "1e+300", "1.5e-07", "100000000000000").
std::string PgFloat8Text(double v);

// `utf8` as a JSON string (quotes included), escaped as PostgreSQL's to_json(text) escapes it.
void AppendPgJsonString(std::string_view utf8, std::string* out);

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_RECORD_KEY_H_
