// TargetType: the PostgreSQL type a replicated SQLite column gets, chosen from its declared
// type (pgloader-style, DESIGN.md "Type mapping"), and so the family its values are compared
// in (RowDigest). Provisioning creates columns of these types; the copy encoder, verify and
// in-stream verification use the same rules. shipper/pg_type.h names it PgType.
#ifndef OWSYNC_CANONICAL_TARGET_TYPE_H_
#define OWSYNC_CANONICAL_TARGET_TYPE_H_

#include <string_view>

namespace owsync::canonical {

enum class TargetType {
  kBigint,   // INTEGER family (INT, INTEGER, BIGINT, SMALLINT, TINYINT, MEDIUMINT, INT2, INT8)
  kBoolean,  // BOOLEAN, BOOL (SQLite stores 0/1)
  kDouble,   // REAL, FLOAT, DOUBLE, DOUBLE PRECISION
  kNumeric,  // NUMERIC, DECIMAL (with or without precision)
  kText,     // TEXT, CHAR, VARCHAR, CLOB, NCHAR, ...; also DATE, DATETIME, TIMESTAMP, TIME
             // (Open WebUI stores them as strings; text keeps them exactly)
  kBytea,    // BLOB, and a column without a declared type (SQLite's BLOB affinity)
  kJsonb,    // JSON, JSONB
};

// The type for a column declared `declared_type` ("" = none). Matching is case-insensitive on
// the type name without its "(n,m)" suffix; names not listed above fall back to SQLite's
// affinity rules (contains INT -> bigint; CHAR, CLOB or TEXT -> text; BLOB or empty -> bytea;
// REAL, FLOA or DOUB -> double; otherwise NUMERIC affinity -> numeric).
TargetType TargetTypeForDeclared(std::string_view declared_type);

// The TargetType whose value rules fit an existing PostgreSQL column of type `format_type` (as
// format_type() spells it: "bigint", "numeric(10,2)", ...); text for types owsync does not map.
TargetType TargetTypeFromFormatType(std::string_view format_type);

// The SQL spelling: "bigint", "boolean", "double precision", "numeric", "text", "bytea",
// "jsonb".
std::string_view TargetTypeSql(TargetType type);

// Whether large values of this type are TOASTed (text, bytea, jsonb).
bool TargetTypeIsToastable(TargetType type);

}  // namespace owsync::canonical

#endif  // OWSYNC_CANONICAL_TARGET_TYPE_H_
