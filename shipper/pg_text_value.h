// PgTextValue: a PostgreSQL value in its text form (what libpq returns, and takes as a text
// parameter) for a column of a PgType, to and from the SQLite value the copy encoder made it
// from. In-stream verification reads PostgreSQL's rows with it (to compute their RowDigest) and
// binds key bounds with it. Text forms: bigint decimal; boolean t/f; double precision and
// numeric as PostgreSQL prints them (shortest exact with extra_float_digits >= 1; NaN,
// Infinity); text as it is; bytea \x<hex> (bytea_output = hex); jsonb as PostgreSQL prints it.
#ifndef OWSYNC_SHIPPER_PG_TEXT_VALUE_H_
#define OWSYNC_SHIPPER_PG_TEXT_VALUE_H_

#include <optional>
#include <string>
#include <string_view>

#include "outbox/value.h"
#include "shipper/pg_type.h"
#include "util/result.h"

namespace owsync::shipper {

class PgTextValue {
 public:
  // The SQLite value PostgreSQL's `text` (nullopt = NULL) stands for in a column of `type`:
  // bigint -> integer; boolean -> 0/1; double -> real; numeric -> integer when it is a whole
  // number within 64 bits, else real; text and jsonb -> text; bytea -> blob. Corruption when
  // the text is not of that type's form.
  static Result<outbox::Value> Parse(PgType type, std::optional<std::string_view> text);
  // The text parameter for `value` in a column of `type`, or nullopt when the value does not
  // fit that column (the copy encoder would refuse it).
  static std::optional<std::string> Param(const outbox::Value& value, PgType type);
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_PG_TEXT_VALUE_H_
