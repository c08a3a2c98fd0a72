#include "cli/table_verifier.h"

#include <algorithm>

#include "capture/sql_quote.h"
#include "capture/sqlite_stmt.h"
#include "shipper/copy_encoder.h"
#include "shipper/pg_error.h"
#include "shipper/record_key.h"
#include "shipper/tenant_name.h"

namespace owsync::cli {
namespace {

using capture::QuoteIdentifier;
using capture::QuoteLiteral;
using shipper::PgType;

constexpr size_t kCopyChunkBytes = 1 << 20;
constexpr const char* kRows = "pg_temp._owsync_verify_rows";

// A value as the report shows it: NULL, or quoted and cut after 60 characters.
std::string Show(const std::string& e) {
  return "CASE WHEN (" + e + ") IS NULL THEN 'NULL' WHEN length((" + e +
         ")::text) > 60 THEN quote_literal(left((" + e + ")::text, 60)) || '... (' || length((" +
         e + ")::text) || ' chars)' ELSE quote_literal((" + e + ")::text) END";
}

bool Fatal(const Status& s) {
  return s.retryable() || s.code() == StatusCode::kPermissionDenied ||
         s.code() == StatusCode::kUnavailable;
}

}  // namespace

shipper::Deadline TableVerifier::NewDeadline() const {
  return shipper::Deadline::After(clock_, options_.statement_timeout_micros);
}

Status TableVerifier::Exec(const std::string& sql) {
  return conn_->Exec(sql, NewDeadline()).status();
}

std::string TableVerifier::SourceExpr(const ColumnPlan& c, const char* alias) const {
  std::string e = std::string(alias) + "." + c.quoted;
  // Doubles compare by their shortest exact text: -0 is not 0, NaN equals NaN.
  if (c.in_target && c.type == PgType::kDouble) e += "::text";
  return e;
}

std::string TableVerifier::TargetExpr(const ColumnPlan& c, const char* alias) const {
  if (!c.in_target) {
    return "COALESCE(" + std::string(alias) + "._owsync_extra -> " + QuoteLiteral(c.name) +
           ", 'null'::jsonb)";
  }
  return SourceExpr(c, alias);
}

std::string TableVerifier::KeyJoin(const char* left, bool left_target, const char* right) const {
  std::string sql;
  for (const ColumnPlan& c : plan_) {
    if (!c.key) continue;
    if (!sql.empty()) sql += " AND ";
    sql +=
        (left_target ? TargetExpr(c, left) : SourceExpr(c, left)) + " = " + right + "." + c.quoted;
  }
  return sql;
}

Result<bool> TableVerifier::Plan(const capture::TableInfo& table, VerifyTable* out) {
  plan_.clear();
  for (const outbox::Column& col : table.columns) {
    if (shipper::TenantName::IsOwsyncName(col.name)) {
      out->problem = "column " + QuoteIdentifier(col.name) +
                     " uses owsync's reserved prefix _owsync_: the table cannot be replicated";
      return false;
    }
  }
  OWSYNC_ASSIGN_OR_RETURN(
      shipper::PgResult res,
      conn_->ExecParams("SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) "
                        "FROM pg_catalog.pg_attribute a "
                        "WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attnum > 0 "
                        "AND NOT a.attisdropped ORDER BY a.attnum",
                        {qualified_}, NewDeadline()));
  if (res.rows() == 0) {
    out->problem = "not provisioned in PostgreSQL (no table " + qualified_ +
                   "): run owsync provision --migrate";
    return false;
  }
  bool has_extra = false, has_deleted_at = false;
  for (const outbox::Column& col : table.columns) {
    ColumnPlan c;
    c.name = col.name;
    c.quoted = QuoteIdentifier(col.name);
    c.key = col.key_position > 0;
    c.target_type = "jsonb";
    for (int r = 0; r < res.rows(); ++r) {
      if (res.GetValue(r, 0) == col.name) {
        c.in_target = true;
        c.target_type = std::string(res.GetValue(r, 1));
        c.type = shipper::PgTypeFromFormatType(c.target_type);
      }
    }
    if (c.key && !c.in_target) {
      out->problem = "key column " + c.quoted + " is missing in " + qualified_ +
                     ": run owsync provision --migrate";
      return false;
    }
    if (!c.in_target) out->extra_columns.push_back(col.name);
    plan_.push_back(std::move(c));
  }
  for (int r = 0; r < res.rows(); ++r) {
    has_extra |= res.GetValue(r, 0) == "_owsync_extra";
    has_deleted_at |= res.GetValue(r, 0) == "_owsync_deleted_at";
  }
  if (!has_extra || !has_deleted_at) {
    out->problem = qualified_ + " lacks the sync columns (_owsync_deleted_at, _owsync_extra): " +
                   "not a table owsync provisioned";
    return false;
  }
  return true;
}

void TableVerifier::EncodeRow(const std::vector<outbox::Value>& row, std::string* line) const {
  std::string field, refused;
  line->clear();
  for (size_t i = 0; i < plan_.size(); ++i) {
    const ColumnPlan& c = plan_[i];
    const outbox::Value& v = row[i];
    field.clear();
    if (c.key && v.is_null()) {
      refused = "NULL in key column " + c.name;
    } else if (c.in_target) {
      Status s = shipper::CopyEncoder::AppendField(v, c.type, &field);
      if (!s.ok()) refused = "column " + c.name + ": " + s.message();
    } else {
      // Kept in _owsync_extra: the JSON value the shipper writes there.
      std::string json;
      Status s = shipper::CopyEncoder::AppendJsonValue(v, &json);
      if (s.ok()) {
        shipper::CopyEncoder::AppendEscaped(json, &field);
      } else {
        refused = "column " + c.name + " (kept in _owsync_extra): " + s.message();
      }
    }
    if (!refused.empty()) break;
    if (i > 0) line->push_back('\t');
    line->append(field);
  }
  std::vector<outbox::Value> key;
  for (int k : key_columns_) key.push_back(row[static_cast<size_t>(k)]);
  if (!refused.empty()) {
    // Only the key is loaded: enough to find the row's target and its dead letter.
    line->clear();
    for (size_t i = 0; i < plan_.size(); ++i) {
      field.clear();
      if (!plan_[i].key || row[i].is_null() ||
          !shipper::CopyEncoder::AppendField(row[i], plan_[i].type, &field).ok()) {
        field = "\\N";
      }
      if (i > 0) line->push_back('\t');
      line->append(field);
    }
  }
  line->push_back('\t');
  shipper::CopyEncoder::AppendEscaped(shipper::RecordKeyJson(key), line);
  line->push_back('\t');
  if (refused.empty()) {
    line->append("\\N");
  } else {
    shipper::CopyEncoder::AppendEscaped(refused, line);
  }
  line->push_back('\n');
}

Result<bool> TableVerifier::Load(capture::SqliteDb* db, const capture::TableInfo& table,
                                 VerifyTable* out) {
  std::string ddl = "CREATE TEMPORARY TABLE _owsync_verify_rows (";
  std::string cols;
  for (const ColumnPlan& c : plan_) {
    ddl += c.quoted + " " + c.target_type + ", ";
    cols += c.quoted + ", ";
  }
  ddl += "_owsync_key text NOT NULL, _owsync_refused text) ON COMMIT DROP";
  OWSYNC_RETURN_IF_ERROR(Exec(ddl));
  OWSYNC_ASSIGN_OR_RETURN(
      capture::SqliteStmt stmt,
      db->Prepare("SELECT " + capture::QuoteIdentifierList(table.ColumnNames()) + " FROM " +
                  QuoteIdentifier(table.name)));
  OWSYNC_RETURN_IF_ERROR(conn_->StartCopyIn(
      "COPY " + std::string(kRows) + " (" + cols + "_owsync_key, _owsync_refused) FROM STDIN",
      NewDeadline()));
  std::string buffer, line;
  std::vector<outbox::Value> row(plan_.size());
  for (;;) {
    Result<bool> more = stmt.Step();
    if (!more.ok()) {
      (void)conn_->AbortCopyIn("reading SQLite failed", NewDeadline());
      return more.status().WithContext("reading SQLite table " + table.name);
    }
    if (!*more) break;
    for (size_t i = 0; i < plan_.size(); ++i) row[i] = stmt.ColumnValue(static_cast<int>(i));
    EncodeRow(row, &line);
    buffer += line;
    ++out->rows;
    if (buffer.size() >= kCopyChunkBytes) {
      OWSYNC_RETURN_IF_ERROR(conn_->PutCopyData(buffer, NewDeadline()));
      buffer.clear();
    }
  }
  if (!buffer.empty()) OWSYNC_RETURN_IF_ERROR(conn_->PutCopyData(buffer, NewDeadline()));
  Result<shipper::PgResult> done = conn_->EndCopyIn(NewDeadline());
  if (!done.ok()) {
    if (Fatal(done.status())) return done.status();
    out->problem = "PostgreSQL refused the SQLite rows of this table: " + done.status().message();
    return false;
  }
  OWSYNC_RETURN_IF_ERROR(Exec("ANALYZE " + std::string(kRows)));
  return true;
}

Status TableVerifier::Compare(VerifyTable* out) {
  std::string sproj, tproj, keys, tkey_json, diffs, refused_join;
  for (const ColumnPlan& c : plan_) {
    const char* sep = sproj.empty() ? "" : ", ";
    sproj += sep + SourceExpr(c, "s") + " AS " + c.quoted;
    tproj += sep + TargetExpr(c, "t") + " AS " + c.quoted;
    diffs += std::string(diffs.empty() ? "" : ", ") + "CASE WHEN " + SourceExpr(c, "s") +
             " IS DISTINCT FROM " + TargetExpr(c, "t") + " THEN " +
             QuoteLiteral(c.name + ": sqlite ") + " || " + Show(SourceExpr(c, "s")) +
             " || ', postgres ' || " + Show(TargetExpr(c, "t")) + " END";
    if (!c.key) continue;
    keys += std::string(keys.empty() ? "" : ", ") + c.quoted;
    refused_join += " AND r." + c.quoted + " = t." + c.quoted;
    std::string k = "t." + c.quoted;
    if (c.type == PgType::kBoolean) k += "::int";
    if (c.target_type == "jsonb" || c.target_type == "json") k += "::text";
    tkey_json += std::string(tkey_json.empty() ? "" : ", ") + k;
  }
  const std::string target = qualified_ + " t WHERE t._owsync_deleted_at IS NULL";
  const std::string staged = std::string(kRows) + " s WHERE s._owsync_refused IS NULL";
  OWSYNC_RETURN_IF_ERROR(Exec("CREATE TEMPORARY TABLE _owsync_verify_d1 ON COMMIT DROP AS SELECT " +
                              sproj + " FROM " + staged + " EXCEPT ALL SELECT " + tproj + " FROM " +
                              target));
  OWSYNC_RETURN_IF_ERROR(Exec("CREATE TEMPORARY TABLE _owsync_verify_d2 ON COMMIT DROP AS SELECT " +
                              tproj + " FROM " + target + " AND NOT EXISTS (SELECT 1 FROM " +
                              kRows + " r WHERE r._owsync_refused IS NOT NULL" + refused_join +
                              ") EXCEPT ALL SELECT " + sproj + " FROM " + staged));
  OWSYNC_ASSIGN_OR_RETURN(std::string client, conn_->QuoteLiteral(options_.client));
  OWSYNC_ASSIGN_OR_RETURN(std::string table, conn_->QuoteLiteral(out->table));
  OWSYNC_RETURN_IF_ERROR(Exec(
      "CREATE TEMPORARY TABLE _owsync_verify_tolerated ON COMMIT DROP AS "
      "SELECT record_key, min(kind) AS kind, min(reason) AS reason FROM ("
      "SELECT d.record_key, 'dead letter'::text AS kind, d.reason::text AS reason "
      "FROM sync_metadata.dead_letters d WHERE d.client_name = " +
      client + " AND d.table_name = " + table +
      " AND d.retried_at IS NULL AND d.record_key IS NOT NULL UNION ALL "
      "SELECT c.record_id::text, 'conflict', c.conflict_type::text || ' conflict pending since "
      "' || c.detected_at::text FROM sync_metadata.conflict_log c WHERE c.client_name = " +
      client + " AND c.table_name = " + table +
      " AND c.resolved_at IS NULL AND c.record_id IS NOT NULL) x GROUP BY record_key"));
  OWSYNC_RETURN_IF_ERROR(
      Exec("CREATE TEMPORARY TABLE _owsync_verify_result ON COMMIT DROP AS "
           "WITH k AS (SELECT " +
           keys +
           ", bool_or(_owsync_side = 1) AS _owsync_in_sqlite, bool_or(_owsync_side = 2) AS "
           "_owsync_in_pg FROM (SELECT " +
           keys + ", 1 AS _owsync_side FROM pg_temp._owsync_verify_d1 UNION ALL SELECT " + keys +
           ", 2 FROM pg_temp._owsync_verify_d2) u GROUP BY " + keys +
           ") SELECT CASE WHEN k._owsync_in_sqlite AND k._owsync_in_pg THEN 'different' "
           "WHEN k._owsync_in_sqlite AND EXISTS (SELECT 1 FROM " +
           qualified_ + " z WHERE z._owsync_deleted_at IS NOT NULL AND " + KeyJoin("z", true, "k") +
           ") THEN 'tombstoned' "
           "WHEN k._owsync_in_sqlite THEN 'missing' ELSE 'extra' END AS kind, "
           "COALESCE(s._owsync_key, json_build_array(" +
           tkey_json +
           ")::text) AS record_key, CASE WHEN k._owsync_in_sqlite AND k._owsync_in_pg THEN "
           "array_to_string(ARRAY[" +
           diffs + "], '; ') END AS detail FROM k LEFT JOIN " + kRows +
           " s ON s._owsync_refused IS NULL AND " + KeyJoin("s", false, "k") + " LEFT JOIN " +
           qualified_ + " t ON t._owsync_deleted_at IS NULL AND " + KeyJoin("t", true, "k") +
           " UNION ALL SELECT CASE WHEN EXISTS (SELECT 1 FROM " + qualified_ +
           " z WHERE z._owsync_deleted_at IS NOT NULL AND " + KeyJoin("z", true, "s") +
           ") THEN 'tombstoned' ELSE 'refused' END, s._owsync_key, s._owsync_refused FROM " +
           kRows + " s WHERE s._owsync_refused IS NOT NULL"));

  const std::string joined =
      " FROM pg_temp._owsync_verify_result r LEFT JOIN pg_temp._owsync_verify_tolerated tl "
      "ON tl.record_key = r.record_key AND r.kind <> 'tombstoned' ";
  OWSYNC_ASSIGN_OR_RETURN(
      shipper::PgResult counts,
      conn_->Exec("SELECT r.kind, COALESCE(tl.kind, ''), count(*)" + joined + "GROUP BY 1, 2",
                  NewDeadline()));
  int64_t unequal_sqlite_rows = 0;
  for (int i = 0; i < counts.rows(); ++i) {
    const std::string_view kind = counts.GetValue(i, 0), tolerated = counts.GetValue(i, 1);
    const int64_t n = std::atoll(std::string(counts.GetValue(i, 2)).c_str());
    if (kind != "extra") unequal_sqlite_rows += n;
    if (tolerated == "dead letter") {
      out->dead_letters += n;
    } else if (tolerated == "conflict") {
      out->conflicts += n;
    } else {
      out->differences += n;
    }
  }
  out->equal = out->rows - unequal_sqlite_rows;
  const std::string limit = " ORDER BY r.kind, r.record_key LIMIT " +
                            std::to_string(std::max<size_t>(options_.max_report, 1)) + ")";
  const std::string select = "(SELECT r.kind, r.record_key, tl.kind, tl.reason, r.detail" + joined;
  OWSYNC_ASSIGN_OR_RETURN(shipper::PgResult listed,
                          conn_->Exec(select + "WHERE tl.kind IS NULL" + limit + " UNION ALL " +
                                          select + "WHERE tl.kind IS NOT NULL" + limit,
                                      NewDeadline()));
  for (int i = 0; i < listed.rows(); ++i) {
    VerifyRow row;
    row.kind = std::string(listed.GetValue(i, 0));
    row.record_key = std::string(listed.GetValue(i, 1));
    row.tolerated = std::string(listed.GetValue(i, 2));
    row.tolerated_reason = std::string(listed.GetValue(i, 3));
    row.detail = std::string(listed.GetValue(i, 4));
    out->rows_reported.push_back(std::move(row));
  }
  return Status::OK();
}

Status TableVerifier::Verify(capture::SqliteDb* db, const capture::TableInfo& table,
                             VerifyTable* out) {
  qualified_ = QuoteIdentifier(options_.client) + "." + QuoteIdentifier(table.name);
  key_columns_ = table.key_columns;
  OWSYNC_RETURN_IF_ERROR(Exec("BEGIN; SET LOCAL extra_float_digits = 1"));
  Status s = [&]() -> Status {
    OWSYNC_ASSIGN_OR_RETURN(bool planned, Plan(table, out));
    if (!planned) return Status::OK();
    OWSYNC_ASSIGN_OR_RETURN(bool loaded, Load(db, table, out));
    if (!loaded) return Status::OK();
    return Compare(out);
  }();
  if (conn_->in_copy()) (void)conn_->AbortCopyIn("verify stopped", NewDeadline());
  if (!conn_->is_broken()) {
    Status rolled_back = Exec("ROLLBACK");
    if (s.ok()) s = rolled_back;
  }
  if (!s.ok() && !Fatal(s) && !shipper::SqlStateOf(s).empty()) {
    // A server error that concerns this table only (a type the staging table cannot take, ...).
    out->problem = "cannot compare: " + s.message();
    return Status::OK();
  }
  return s.WithContext("verifying table " + table.name);
}

}  // namespace owsync::cli
