#include "shipper/drift_check.h"

#include <algorithm>
#include <map>
#include <optional>

#include "canonical/row_digest.h"
#include "shipper/pg_text_value.h"
#include "shipper/record_key.h"

namespace owsync::shipper {
namespace {

using canonical::RowDigest;
using canonical::TargetType;
using outbox::Value;

constexpr size_t kLoggedKeys = 100;

// Whether PostgreSQL's values of a column of type `t` map back to what SQLite's values of a
// column declared of family `f` are (the copy encoder wrote them by t's rules).
bool Faithful(PgType t, TargetType f) {
  return t == f || (t == PgType::kText && f == TargetType::kJsonb) ||
         (t == PgType::kBigint && f == TargetType::kBoolean) ||
         (t == PgType::kNumeric && (f == TargetType::kBigint || f == TargetType::kDouble));
}

struct ColumnPlan {
  size_t target = 0;
  PgType type = PgType::kText;
  TargetType family = TargetType::kText;
};

struct Plan {
  std::vector<ColumnPlan> columns;  // in the record's column order
  std::vector<size_t> keys;         // indexes into columns, in key order
  std::vector<TargetType> families;
};

// The plan, or "" in *why when the range cannot be compared.
Plan MakePlan(const TableMapping& m, const outbox::VerifyRange& range, std::string* why) {
  Plan plan;
  std::vector<std::pair<uint32_t, size_t>> keys;
  for (const outbox::Column& c : range.columns) {
    size_t t = 0;
    while (t < m.target.size() && m.target[t].name != c.name) ++t;
    if (t == m.target.size()) {
      *why = "column \"" + c.name + "\" is not in PostgreSQL yet (provision --migrate adds it)";
      return plan;
    }
    ColumnPlan p;
    p.target = t;
    p.type = m.target[t].type;
    p.family = canonical::TargetTypeForDeclared(c.declared_type);
    if (!Faithful(p.type, p.family)) {
      *why = "column \"" + c.name + "\" is " + std::string(PgTypeSql(p.type)) +
             " in PostgreSQL while SQLite's \"" + c.declared_type + "\" maps to " +
             std::string(canonical::TargetTypeSql(p.family));
      return plan;
    }
    if (c.key_position > 0) keys.emplace_back(c.key_position, plan.columns.size());
    plan.families.push_back(p.family);
    plan.columns.push_back(p);
  }
  std::sort(keys.begin(), keys.end());
  for (const auto& k : keys) plan.keys.push_back(k.second);
  if (plan.keys.empty()) *why = "no key column";
  return plan;
}

std::string CanonicalKey(const Plan& plan, const std::vector<Value>& key) {
  std::string out;
  for (size_t i = 0; i < plan.keys.size() && i < key.size(); ++i) {
    RowDigest::AppendValue(plan.columns[plan.keys[i]].family, key[i], &out);
  }
  return out;
}

std::string RangeText(const outbox::VerifyRange& r) {
  return "(" + (r.lower.empty() ? std::string("first") : RecordKeyJson(r.lower)) + ", " +
         (r.upper.empty() ? std::string("last") : RecordKeyJson(r.upper)) + "]";
}

struct PgRow {
  std::vector<Value> key;
  uint64_t digest = 0;
  bool live = false;
  bool dirty = false;
};

}  // namespace

Result<DriftReport> DriftCheck::Run(const outbox::VerifyRange& range, uint64_t offset) {
  const std::string sp = "_owsync_verify_" + std::to_string(++*name_seq_);
  const Deadline deadline = Deadline::After(ctx_->clock, ctx_->statement_micros);
  OWSYNC_RETURN_IF_ERROR(conn_->Exec("SAVEPOINT " + sp, deadline).status());
  Result<DriftReport> report = Compare(range, offset);
  if (report.ok()) {
    OWSYNC_RETURN_IF_ERROR(conn_->Exec("RELEASE SAVEPOINT " + sp, deadline).status());
    return report;
  }
  if (conn_->is_broken() || report.status().retryable()) return report.status();
  OWSYNC_RETURN_IF_ERROR(conn_->Exec("ROLLBACK TO SAVEPOINT " + sp, deadline).status());
  DriftReport skipped;
  skipped.table = range.table;
  skipped.range = RangeText(range);
  skipped.skipped = report.status().ToString();
  return skipped;
}

Result<DriftReport> DriftCheck::Compare(const outbox::VerifyRange& range, uint64_t offset) {
  const Deadline deadline = Deadline::After(ctx_->clock, ctx_->statement_micros);
  DriftReport report;
  report.table = range.table;
  report.range = RangeText(range);
  report.compared = static_cast<int64_t>(range.entries.size());
  const Plan plan = MakePlan(*m_, range, &report.skipped);
  if (!report.skipped.empty()) return report;

  // What PostgreSQL holds in the range (tombstones too: a tombstoned key is a missing row).
  std::string select;
  for (const ColumnPlan& c : plan.columns) select += m_->quoted_target[c.target] + ", ";
  select += "_owsync_deleted_at IS NULL, _owsync_dirty";
  std::string keys_sql;
  std::vector<std::optional<std::string>> params;
  auto bind = [&](const std::vector<Value>& key, std::string* row) -> bool {
    *row = "ROW(";
    for (size_t i = 0; i < plan.keys.size(); ++i) {
      const ColumnPlan& c = plan.columns[plan.keys[i]];
      std::optional<std::string> p = PgTextValue::Param(key[i], c.type);
      if (!p) return false;
      params.push_back(std::move(p));
      *row += std::string(i ? ", " : "") + "$" + std::to_string(params.size()) +
              "::" + std::string(PgTypeSql(c.type));
      if (c.type == PgType::kText) *row += " COLLATE \"C\"";
    }
    *row += ")";
    return true;
  };
  keys_sql = "ROW(";
  for (size_t i = 0; i < plan.keys.size(); ++i) {
    const ColumnPlan& c = plan.columns[plan.keys[i]];
    keys_sql += std::string(i ? ", " : "") + m_->quoted_target[c.target];
    if (c.type == PgType::kText) keys_sql += " COLLATE \"C\"";
  }
  keys_sql += ")";
  std::string where;
  bool ranged = !range.keys_only;
  if (ranged) {
    std::string lower, upper;
    if (!range.lower.empty() && !bind(range.lower, &lower)) ranged = false;
    if (ranged && !range.upper.empty() && !bind(range.upper, &upper)) ranged = false;
    if (ranged) {
      where = "TRUE";
      if (!lower.empty()) where += " AND " + keys_sql + " > " + lower;
      if (!upper.empty()) where += " AND " + keys_sql + " <= " + upper;
    }
  }
  if (!ranged) {  // the listed keys only (SQLite's order cannot be reproduced here)
    params.clear();
    std::string list;
    for (const outbox::VerifyEntry& e : range.entries) {
      std::string row;
      if (!bind(e.key, &row)) continue;
      list += (list.empty() ? "" : ", ") + row;
    }
    where = list.empty() ? "FALSE" : keys_sql + " IN (" + list + ")";
  }
  OWSYNC_RETURN_IF_ERROR(
      conn_->Exec("SET LOCAL extra_float_digits = 3; SET LOCAL bytea_output = 'hex'", deadline)
          .status());
  OWSYNC_ASSIGN_OR_RETURN(PgResult res, conn_->ExecParams("SELECT " + select + " FROM " +
                                                              m_->qualified + " WHERE " + where,
                                                          params, deadline));
  const int n = static_cast<int>(plan.columns.size());
  std::map<std::string, PgRow> held;
  std::vector<Value> values(plan.columns.size());
  for (int r = 0; r < res.rows(); ++r) {
    for (int c = 0; c < n; ++c) {
      const std::optional<std::string_view> text =
          res.IsNull(r, c) ? std::nullopt : std::optional<std::string_view>(res.GetValue(r, c));
      OWSYNC_ASSIGN_OR_RETURN(values[c], PgTextValue::Parse(plan.columns[c].type, text));
    }
    PgRow row;
    for (size_t k : plan.keys) row.key.push_back(values[k]);
    row.digest = RowDigest::Of(plan.families, values);
    row.live = res.GetValue(r, n) == "t";
    row.dirty = res.GetValue(r, n + 1) == "t";
    held[CanonicalKey(plan, row.key)] = std::move(row);
  }

  // Compare; differing rows by record key, with the SQLite key to send again.
  std::map<std::string, std::pair<char, std::vector<Value>>> differing;  // record key ->
  for (const outbox::VerifyEntry& e : range.entries) {
    auto it = held.find(CanonicalKey(plan, e.key));
    if (it == held.end() || !it->second.live) {
      if (it != held.end() && it->second.dirty) {
        ++report.explained;
      } else {
        differing[RecordKeyJson(e.key)] = {'m', e.key};
      }
    } else if (it->second.digest != e.digest) {
      if (it->second.dirty) {
        ++report.explained;
      } else {
        differing[RecordKeyJson(e.key)] = {'d', e.key};
      }
    }
    if (it != held.end()) held.erase(it);
  }
  if (ranged) {
    for (auto& [canonical_key, row] : held) {
      if (!row.live) continue;
      if (row.dirty) {
        ++report.explained;
        continue;
      }
      differing[RecordKeyJson(row.key)] = {'x', row.key};
    }
  }
  if (differing.empty()) return report;

  // Explained: dead letters (not retried) and pending conflicts of those keys.
  std::string keys_array = "{";
  for (const auto& [record_key, unused] : differing) {
    keys_array += (keys_array.size() > 1 ? "," : "") + std::string("\"");
    for (char ch : record_key) {
      if (ch == '"' || ch == '\\') keys_array.push_back('\\');
      keys_array.push_back(ch);
    }
    keys_array += "\"";
  }
  keys_array += "}";
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult explained,
      conn_->ExecParams(
          "SELECT record_key FROM sync_metadata.dead_letters WHERE client_name = $1 AND "
          "table_name = $2 AND retried_at IS NULL AND record_key = ANY ($3::text[]) UNION "
          "SELECT record_id FROM sync_metadata.conflict_log WHERE client_name = $1 AND "
          "table_name = $2 AND resolved_at IS NULL AND record_id = ANY ($3::text[])",
          {ctx_->client, range.table, keys_array}, deadline));
  for (int r = 0; r < explained.rows(); ++r) {
    if (differing.erase(std::string(explained.GetValue(r, 0))) > 0) ++report.explained;
  }
  std::string logged = "{";
  for (const auto& [record_key, what] : differing) {
    (what.first == 'm' ? report.missing : what.first == 'd' ? report.different : report.extra)++;
    report.keys.push_back(what.second);
    if (report.keys.size() <= kLoggedKeys) {
      logged += (logged.size() > 1 ? "," : "") + std::string("\"");
      for (char ch : record_key) {
        if (ch == '"' || ch == '\\') logged.push_back('\\');
        logged.push_back(ch);
      }
      logged += "\"";
    }
  }
  logged += "}";
  if (!report.drift()) return report;
  OWSYNC_RETURN_IF_ERROR(
      conn_
          ->ExecParams(
              "INSERT INTO sync_metadata.drift_log (client_name, deployment_id, table_name, "
              "outbox_id, outbox_offset, key_range, rows_compared, missing, different, extra, "
              "record_keys) VALUES ($1, NULLIF($2, '')::uuid, $3, $4, $5::bigint, $6, "
              "$7::integer, $8::integer, $9::integer, $10::integer, $11::text[])",
              {ctx_->client, ctx_->deployment_id, range.table, ctx_->outbox_id,
               std::to_string(offset), report.range, std::to_string(report.compared),
               std::to_string(report.missing), std::to_string(report.different),
               std::to_string(report.extra), logged},
              deadline)
          .status());
  return report;
}

}  // namespace owsync::shipper
