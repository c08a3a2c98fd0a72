#include "shipper/extra_column_mover.h"

#include <utility>

namespace owsync::shipper {
namespace {

// SQL moving one value of `_owsync_extra` (key $1) into a new column of `type`: the condition
// under which the value fits (checked before the cast, so a misfit never raises) and the
// value. The encoding is the one the shipper writes (notes/shipper-spec.md).
std::pair<std::string, std::string> MoveExpressions(PgType type) {
  const std::string v = "(_owsync_extra -> $1::text)";
  const std::string s = "(_owsync_extra ->> $1::text)";
  const std::string t = "jsonb_typeof" + v;
  std::string fits, value;
  switch (type) {
    case PgType::kBigint:
      fits = "CASE WHEN " + t + " = 'number' THEN " + s + " ~ '^-?[0-9]+$' AND " + s +
             "::numeric BETWEEN -9223372036854775808 AND 9223372036854775807 ELSE false END";
      value = s + "::bigint";
      break;
    case PgType::kBoolean:
      fits = t + " = 'number' AND " + s + " IN ('0', '1')";
      value = s + " = '1'";
      break;
    case PgType::kDouble:
      // An integer past 2^53 is not exact as a double: it stays in _owsync_extra.
      fits = "CASE " + t + " WHEN 'number' THEN " + s + " !~ '^-?[0-9]+$' OR abs(" + s +
             "::numeric) <= 9007199254740992 WHEN 'string' THEN " + s +
             " IN ('NaN', 'Infinity', '-Infinity') ELSE false END";
      value = s + "::double precision";
      break;
    case PgType::kNumeric:
      fits = "CASE " + t + " WHEN 'number' THEN true WHEN 'string' THEN " + s +
             " IN ('NaN', 'Infinity', '-Infinity') ELSE false END";
      value = s + "::numeric";
      break;
    case PgType::kText:
      fits = t + " IN ('string', 'number')";
      value = s;
      break;
    case PgType::kBytea:
      fits = t + " = 'string'";
      value = "CASE WHEN " + s + R"( ~ '^\\x([0-9a-fA-F]{2})*$' THEN decode(substr()" + s +
              ", 3), 'hex') ELSE convert_to(" + s + ", 'UTF8') END";
      break;
    case PgType::kJsonb:
      fits = "CASE " + t +
             " WHEN 'number' THEN true WHEN 'string' THEN pg_temp._owsync_try_jsonb(" + s +
             ") IS NOT NULL ELSE false END";
      value = "CASE WHEN " + t + " = 'number' THEN " + v + " ELSE pg_temp._owsync_try_jsonb(" + s +
              ") END";
      break;
  }
  return {"(" + t + " = 'null' OR " + fits + ")",
          "CASE WHEN " + t + " = 'null' THEN NULL ELSE " + value + " END"};
}

}  // namespace

Result<ExtraMoveResult> ExtraColumnMover::Move(PgConnection* conn,
                                               const std::string& qualified_table,
                                               const std::string& column,
                                               const std::string& quoted_column, PgType type,
                                               Deadline deadline) {
  if (type == PgType::kJsonb) {
    OWSYNC_ASSIGN_OR_RETURN(
        PgResult exists,
        conn->Exec("SELECT to_regprocedure('pg_temp._owsync_try_jsonb(text)') IS NOT NULL",
                   deadline));
    if (exists.GetValue(0, 0) != "t") {
      // Lives in this session's temporary schema and disappears with it.
      OWSYNC_RETURN_IF_ERROR(
          conn->Exec("CREATE FUNCTION pg_temp._owsync_try_jsonb(t text) RETURNS jsonb "
                     "LANGUAGE plpgsql AS $f$ BEGIN RETURN t::jsonb; EXCEPTION WHEN others THEN "
                     "RETURN NULL; END $f$",
                     deadline)
              .status());
    }
  }
  const auto [fits, value] = MoveExpressions(type);
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult moved,
      conn->ExecParams("UPDATE " + qualified_table + " SET " + quoted_column + " = " + value +
                           ", _owsync_extra = NULLIF(_owsync_extra - $1::text, '{}'::jsonb) "
                           "WHERE _owsync_extra ? $1::text AND " +
                           fits,
                       {column}, deadline));
  OWSYNC_ASSIGN_OR_RETURN(PgResult left,
                          conn->ExecParams("SELECT count(*) FROM " + qualified_table +
                                               " WHERE _owsync_extra ? $1::text",
                                           {column}, deadline));
  ExtraMoveResult result;
  result.moved = moved.affected_rows();
  result.left = std::stoll(std::string(left.GetValue(0, 0)));
  return result;
}

}  // namespace owsync::shipper
