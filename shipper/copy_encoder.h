// CopyEncoder: turns SQLite values into PostgreSQL COPY text-format fields for a column of a
// given PgType, validating that each value fits (the value-mapping rules of the shipper spec),
// and into JSON values for the `_owsync_extra` jsonb object. Stateless; thread-safe (each thread
// reuses its own small JSON-parser scratch, at most ~1 MiB of input capacity; larger JSON
// documents get a parser of their own for the call).
//
// Mapping (NULL -> \N for every type):
//   bigint   integer -> decimal; anything else refused
//   boolean  integer 0 -> f, 1 -> t; anything else refused
//   double   real -> shortest round-trip decimal (NaN, Infinity, -Infinity, -0); integer ->
//            decimal when exactly representable as a double; text/blob refused
//   numeric  integer -> decimal; real -> as for double; text/blob refused
//   text     valid UTF-8 text without NUL -> itself; integer/real as above; blob refused
//   bytea    blob or text -> \x<hex>; integer/real refused
//   jsonb    text that is valid UTF-8 JSON (simdjson's verdict: numbers beyond its range, such
//            as 1e400 or integers past 64 bits, are refused) with no \u0000 escape and no lone
//            surrogate escape -> itself; finite integer/real -> JSON number; else refused
// Field bytes are escaped for COPY text format (\\ \n \r \t); the caller adds the tab and
// newline separators.
#ifndef OWSYNC_SHIPPER_COPY_ENCODER_H_
#define OWSYNC_SHIPPER_COPY_ENCODER_H_

#include <string>
#include <string_view>

#include "outbox/value.h"
#include "shipper/pg_type.h"
#include "util/status.h"

namespace owsync::shipper {

class CopyEncoder {
 public:
  // Appends the COPY text-format field for `value` in a column of type `type` to *out (no
  // separator). InvalidArgument naming the reason (value kind, column type, byte offset of a NUL
  // or bad UTF-8) when the value does not fit; *out is then unchanged.
  [[nodiscard]] static Status AppendField(const outbox::Value& value, PgType type,
                                          std::string* out);
  // Appends `value` as a JSON value (for the _owsync_extra jsonb object), not COPY-escaped:
  // NULL -> null, integer -> number, real -> number or "NaN"/"Infinity"/"-Infinity", text ->
  // string (InvalidArgument if it has a NUL byte or invalid UTF-8; *out then unchanged), blob ->
  // string "\\x<hex>".
  [[nodiscard]] static Status AppendJsonValue(const outbox::Value& value, std::string* out);
  // Appends `bytes` escaped for a COPY text field (\\ \n \r \t).
  static void AppendEscaped(std::string_view bytes, std::string* out);
  // Appends a JSON string literal of valid UTF-8 `text` (escaping per RFC 8259).
  static void AppendJsonString(std::string_view text, std::string* out);
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_COPY_ENCODER_H_
