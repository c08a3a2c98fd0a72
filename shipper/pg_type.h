// PgType: the PostgreSQL type a replicated SQLite column gets, chosen from its declared type
// (pgloader-style, DESIGN.md "Type mapping"), and the rules for which SQLite values fit it.
// Provisioning creates columns of these types; the copy encoder and verify use the same rules.
#ifndef OWSYNC_SHIPPER_PG_TYPE_H_
#define OWSYNC_SHIPPER_PG_TYPE_H_

#include <string_view>

namespace owsync::shipper {

enum class PgType {
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
PgType PgTypeForDeclared(std::string_view declared_type);

// The PgType whose value rules fit an existing PostgreSQL column of type `format_type` (as
// format_type() spells it: "bigint", "numeric(10,2)", ...); text for types owsync does not map.
PgType PgTypeFromFormatType(std::string_view format_type);

// The SQL spelling: "bigint", "boolean", "double precision", "numeric", "text", "bytea",
// "jsonb".
std::string_view PgTypeSql(PgType type);

// Whether large values of this type are TOASTed (text, bytea, jsonb): these columns get lz4
// compression where the server has it.
bool PgTypeIsToastable(PgType type);

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_PG_TYPE_H_
