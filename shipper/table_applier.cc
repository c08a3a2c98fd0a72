#include "shipper/table_applier.h"

#include "shipper/copy_encoder.h"
#include "shipper/pg_error.h"

namespace owsync::shipper {

namespace {

constexpr size_t kCopyChunk = 1 << 20;

// The longest key (sum of its values' bytes, 8 bytes of overhead counted per column) a row may
// have: PostgreSQL's btree index entries hold at most 2704 bytes (8 KiB pages), and a key it
// cannot index would fail the whole statement (54000). Refused before COPY, a dead letter.
constexpr size_t kMaxKeyBytes = 2600;

bool IsDataError(const Status& s) { return s.code() == StatusCode::kDataError; }

}  // namespace

Deadline TableApplier::StatementDeadline() const {
  return Deadline::After(ctx_->clock, ctx_->statement_micros);
}

Status TableApplier::Exec(const std::string& sql) {
  return conn_->Exec(sql, StatementDeadline()).status();
}

std::string TableApplier::CopyColumns() const {
  std::string cols;
  for (size_t s = 0; s < m_->source.size(); ++s) {
    int t = m_->source_to_target[s];
    if (t < 0) continue;
    cols += m_->quoted_target[static_cast<size_t>(t)];
    cols += ", ";
  }
  cols += "_owsync_offset, _owsync_extra, _owsync_deleted_at";
  return cols;
}

std::string TableApplier::KeyJoin(const std::string& a, const std::string& b) const {
  std::string join;
  for (int t : m_->key_target) {
    const std::string& q = m_->quoted_target[static_cast<size_t>(t)];
    if (!join.empty()) join += " AND ";
    join += a + "." + q + " = " + b + "." + q;
  }
  return join;
}

std::string TableApplier::KeyArray(const std::string& alias) const {
  std::string out = "json_build_array(";
  for (size_t i = 0; i < m_->key_target.size(); ++i) {
    if (i > 0) out += ", ";
    const size_t t = static_cast<size_t>(m_->key_target[i]);
    out += alias + "." + m_->quoted_target[t];
    if (m_->target[t].type == PgType::kBoolean) out += "::int";  // as RecordKeyJson spells it
  }
  return out + ")::text";
}

Status TableApplier::EncodeRow(const outbox::Record& r, std::string* line, std::string* reason) {
  const size_t n = m_->source.size();
  bool is_delete = r.type == outbox::RecordType::kDelete;
  if (is_delete ? r.key.size() != m_->key_target.size() : r.row.size() != n) {
    return Status::Corruption("outbox offset " + std::to_string(r.offset) + " (table '" + r.table +
                              "'): the record does not match the table's schema (" +
                              std::to_string(is_delete ? r.key.size() : r.row.size()) + " values)");
  }
  std::string extra;
  size_t key_bytes = 0;
  for (size_t s = 0; s < n; ++s) {
    const outbox::Column& col = m_->source[s];
    const outbox::Value* v = nullptr;
    outbox::Value null_value;
    if (is_delete) {
      v = col.key_position > 0 ? &r.key[col.key_position - 1] : &null_value;
    } else {
      v = &r.row[s];
    }
    if (col.key_position > 0 && v->is_null()) {
      *reason = "NULL in key column \"" + col.name + "\"";
      return Status::OK();
    }
    if (col.key_position > 0) key_bytes += v->bytes.size() + 8;
    int t = m_->source_to_target[s];
    if (t < 0) {
      if (v->is_null() && is_delete) continue;
      extra += extra.empty() ? "{" : ",";
      CopyEncoder::AppendJsonString(col.name, &extra);
      extra += ':';
      Status st = CopyEncoder::AppendJsonValue(*v, &extra);
      if (!st.ok()) {
        *reason = "column \"" + col.name + "\" (kept in _owsync_extra): " + st.message();
        return Status::OK();
      }
      continue;
    }
    Status st = CopyEncoder::AppendField(*v, m_->target[static_cast<size_t>(t)].type, line);
    if (!st.ok()) {
      *reason = "column \"" + col.name + "\": " + st.message();
      return Status::OK();
    }
    line->push_back('\t');
  }
  if (key_bytes > kMaxKeyBytes) {
    *reason = "its key is " + std::to_string(key_bytes) +
              " bytes, longer than PostgreSQL can index (a primary key holds at most " +
              std::to_string(kMaxKeyBytes) + " bytes)";
    return Status::OK();
  }
  *line += std::to_string(r.offset);
  line->push_back('\t');
  if (extra.empty()) {
    *line += "\\N";
  } else {
    extra += '}';
    CopyEncoder::AppendEscaped(extra, line);
  }
  *line += is_delete ? "\t-infinity\n" : "\t\\N\n";
  return Status::OK();
}

Status TableApplier::CopyRows(const std::string& target, const Rows& rows, size_t begin, size_t end,
                              std::vector<DeadLetter>* dead, Rows* good, ApplyStats* stats) {
  OWSYNC_RETURN_IF_ERROR(conn_->StartCopyIn(
      "COPY " + target + " (" + CopyColumns() + ") FROM STDIN", StatementDeadline()));
  Deadline deadline = StatementDeadline();
  std::string chunk;
  chunk.reserve(kCopyChunk + (kCopyChunk >> 2));
  for (size_t i = begin; i < end; ++i) {
    const size_t start = chunk.size();
    std::string reason;
    OWSYNC_RETURN_IF_ERROR(EncodeRow(*rows[i], &chunk, &reason));
    if (!reason.empty()) {
      chunk.resize(start);
      if (dead == nullptr) return Status::Internal("a row refused on the second encoding");
      dead->push_back({rows[i], std::move(reason), ""});
      continue;
    }
    if (good != nullptr) good->push_back(rows[i]);
    if (chunk.size() >= kCopyChunk) {
      OWSYNC_RETURN_IF_ERROR(conn_->PutCopyData(chunk, deadline));
      stats->bytes += static_cast<int64_t>(chunk.size());
      chunk.clear();
    }
  }
  if (!chunk.empty()) {
    OWSYNC_RETURN_IF_ERROR(conn_->PutCopyData(chunk, deadline));
    stats->bytes += static_cast<int64_t>(chunk.size());
  }
  return conn_->EndCopyIn(deadline).status();
}

Status TableApplier::StageAndUpsert(const Rows& rows, size_t begin, size_t end,
                                    std::vector<DeadLetter>* dead, Rows* good, ApplyStats* stats) {
  std::string stage = "pg_temp._owsync_stage_" + std::to_string(++*name_seq_);
  OWSYNC_RETURN_IF_ERROR(Exec("CREATE TEMP TABLE " + stage.substr(8) +
                              " ON COMMIT DROP AS SELECT " + CopyColumns() + " FROM " +
                              m_->qualified + " WITH NO DATA"));
  const size_t dead_before = dead != nullptr ? dead->size() : 0;
  OWSYNC_RETURN_IF_ERROR(CopyRows(stage, rows, begin, end, dead, good, stats));
  int64_t upserts = 0, deletes = 0;
  for (size_t i = begin; i < end; ++i) {
    (rows[i]->type == outbox::RecordType::kDelete ? deletes : upserts)++;
  }
  if (dead != nullptr) {  // refused rows were not staged
    for (size_t i = dead_before; i < dead->size(); ++i) {
      ((*dead)[i].record->type == outbox::RecordType::kDelete ? deletes : upserts)--;
    }
  }
  std::string keys;
  for (int t : m_->key_target) {
    if (!keys.empty()) keys += ", ";
    keys += m_->quoted_target[static_cast<size_t>(t)];
  }
  std::string moves_forward =
      " WHERE t._owsync_offset < EXCLUDED._owsync_offset AND NOT t._owsync_dirty";
  int64_t applied = 0;
  if (upserts > 0) {
    std::string cols = CopyColumns();
    std::string set;
    for (size_t s = 0; s < m_->source.size(); ++s) {
      int t = m_->source_to_target[s];
      if (t < 0 || m_->target[static_cast<size_t>(t)].is_key) continue;
      const std::string& q = m_->quoted_target[static_cast<size_t>(t)];
      set += q + " = EXCLUDED." + q + ", ";
    }
    set +=
        "_owsync_offset = EXCLUDED._owsync_offset, _owsync_extra = EXCLUDED._owsync_extra, "
        "_owsync_deleted_at = NULL";
    OWSYNC_ASSIGN_OR_RETURN(
        PgResult res,
        conn_->Exec(
            "WITH up AS (INSERT INTO " + m_->qualified + " AS t (" + cols + ") SELECT " + cols +
                " FROM " + stage + " WHERE _owsync_deleted_at IS NULL ON CONFLICT (" + keys +
                ") DO UPDATE SET " + set + moves_forward + " RETURNING 1) SELECT count(*) FROM up",
            StatementDeadline()));
    int64_t n = std::stoll(std::string(res.GetValue(0, 0)));
    stats->upserts += n;
    applied += n;
  }
  if (deletes > 0) {
    OWSYNC_ASSIGN_OR_RETURN(
        PgResult res, conn_->Exec("WITH up AS (INSERT INTO " + m_->qualified + " AS t (" + keys +
                                      ", _owsync_offset, _owsync_deleted_at) SELECT " + keys +
                                      ", _owsync_offset, now() FROM " + stage +
                                      " WHERE _owsync_deleted_at IS NOT NULL ON CONFLICT (" + keys +
                                      ") DO UPDATE SET _owsync_offset = EXCLUDED._owsync_offset, "
                                      "_owsync_deleted_at = COALESCE(t._owsync_deleted_at, "
                                      "EXCLUDED._owsync_deleted_at)" +
                                      moves_forward + " RETURNING 1) SELECT count(*) FROM up",
                                  StatementDeadline()));
    int64_t n = std::stoll(std::string(res.GetValue(0, 0)));
    stats->tombstones += n;
    applied += n;
  }
  int64_t not_applied = upserts + deletes - applied;
  if (not_applied > 0) {
    stats->skipped += not_applied;
    // Rows held back because the target is dirty: keep the target, log a manual conflict.
    OWSYNC_ASSIGN_OR_RETURN(
        PgResult res,
        conn_->ExecParams(
            "WITH c AS (INSERT INTO sync_metadata.conflict_log (deployment_id, client_name, "
            "table_name, record_id, conflict_type, source_data, target_data, "
            "resolution_strategy, resolution_notes) SELECT NULLIF($1, '')::uuid, $2, $3, " +
                KeyArray("s") +
                ", CASE WHEN s._owsync_deleted_at IS NULL THEN 'update_conflict' ELSE "
                "'delete_conflict' END, to_jsonb(s), to_jsonb(t), 'manual', 'changed in "
                "PostgreSQL since the last sync: PostgreSQL row kept, review pending' FROM " +
                stage + " s JOIN " + m_->qualified + " t ON " + KeyJoin("t", "s") +
                " WHERE t._owsync_dirty AND t._owsync_offset < s._owsync_offset RETURNING 1) "
                "SELECT count(*) FROM c",
            {ctx_->deployment_id, ctx_->client, m_->table}, StatementDeadline()));
    stats->conflicts += std::stoll(std::string(res.GetValue(0, 0)));
  }
  return Status::OK();
}

Status TableApplier::ApplyBisecting(const Rows& rows, size_t begin, size_t end,
                                    std::vector<DeadLetter>* dead, ApplyStats* stats) {
  std::string sp = "_owsync_sp_" + std::to_string(++*name_seq_);
  OWSYNC_RETURN_IF_ERROR(Exec("SAVEPOINT " + sp));
  ApplyStats attempt;
  Status st = StageAndUpsert(rows, begin, end, nullptr, nullptr, &attempt);
  if (st.ok()) {
    Accumulate(attempt, stats);
    return Exec("RELEASE SAVEPOINT " + sp);
  }
  if (!IsDataError(st) || conn_->is_broken()) return st;
  OWSYNC_RETURN_IF_ERROR(Exec("ROLLBACK TO SAVEPOINT " + sp));
  stats->bisections++;
  if (end - begin == 1) {
    dead->push_back({rows[begin], st.message(), SqlStateOf(st)});
    stats->dead_letters++;
    return Status::OK();
  }
  size_t mid = begin + (end - begin) / 2;
  OWSYNC_RETURN_IF_ERROR(ApplyBisecting(rows, begin, mid, dead, stats));
  return ApplyBisecting(rows, mid, end, dead, stats);
}

Status TableApplier::Apply(const std::vector<const outbox::Record*>& rows, bool try_direct,
                           bool* direct_failed, std::vector<DeadLetter>* dead, ApplyStats* stats) {
  *direct_failed = false;
  if (rows.empty()) return Status::OK();
  bool has_deletes = false;
  for (const outbox::Record* r : rows) has_deletes |= r->type == outbox::RecordType::kDelete;
  const size_t dead_before = dead->size();
  // The first pass over the rows encodes them, sets refused ones aside (*dead) and keeps the
  // rest in `good`; later passes (fallback, bisection) send `good` only.
  Rows good;
  auto first_pass = [&](bool direct) -> Status {
    good.clear();
    dead->resize(dead_before);
    std::string sp = "_owsync_sp_" + std::to_string(++*name_seq_);
    OWSYNC_RETURN_IF_ERROR(Exec("SAVEPOINT " + sp));
    ApplyStats attempt;
    Status st = direct ? CopyRows(m_->qualified, rows, 0, rows.size(), dead, &good, &attempt)
                       : StageAndUpsert(rows, 0, rows.size(), dead, &good, &attempt);
    if (st.ok()) {
      if (direct) {
        attempt.upserts += static_cast<int64_t>(good.size());
        attempt.direct_copies++;
      }
      attempt.dead_letters += static_cast<int64_t>(dead->size() - dead_before);
      Accumulate(attempt, stats);
      return Exec("RELEASE SAVEPOINT " + sp);
    }
    if (!IsDataError(st) || conn_->is_broken()) return st;
    OWSYNC_RETURN_IF_ERROR(Exec("ROLLBACK TO SAVEPOINT " + sp));
    return Status::DataError(st.message());
  };
  // Every row new to the target: COPY into it directly. A key that exists (23505) or a data
  // error rolls back to the savepoint and the staged path below decides row by row.
  if (try_direct && !has_deletes) {
    Status st = first_pass(/*direct=*/true);
    if (!IsDataError(st)) return st;
    *direct_failed = true;
  } else {
    Status st = first_pass(/*direct=*/false);
    if (!IsDataError(st)) return st;
  }
  // A data error PostgreSQL raised (the COPY completed: errors are reported at its end, so
  // `good` and *dead are complete). When it came from the direct path the staged path may
  // well succeed; otherwise bisect down to the rows PostgreSQL refuses.
  const size_t dead_known = dead->size();
  stats->dead_letters += static_cast<int64_t>(dead_known - dead_before);
  if (good.size() + (dead_known - dead_before) != rows.size()) {
    return Status::Internal("COPY ended before every row was encoded");
  }
  return ApplyBisecting(good, 0, good.size(), dead, stats);
}

void TableApplier::Accumulate(const ApplyStats& a, ApplyStats* stats) {
  stats->upserts += a.upserts;
  stats->tombstones += a.tombstones;
  stats->skipped += a.skipped;
  stats->conflicts += a.conflicts;
  stats->dead_letters += a.dead_letters;
  stats->direct_copies += a.direct_copies;
  stats->bisections += a.bisections;
  stats->bytes += a.bytes;
}

Status TableApplier::ApplySnapshotEnd(const outbox::Record& end, ApplyStats* stats) {
  std::string begin = std::to_string(end.snapshot_begin_offset);
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult conflicts,
      conn_->ExecParams(
          "WITH c AS (INSERT INTO sync_metadata.conflict_log (deployment_id, client_name, "
          "table_name, record_id, conflict_type, source_data, target_data, "
          "resolution_strategy, resolution_notes) SELECT NULLIF($1, '')::uuid, $2, $3, " +
              KeyArray("t") +
              ", 'delete_conflict', NULL, to_jsonb(t), 'manual', 'deleted in SQLite (not "
              "in snapshot) but changed in PostgreSQL: PostgreSQL row kept, review pending' "
              "FROM " +
              m_->qualified + " t WHERE t._owsync_offset < " + begin +
              " AND t._owsync_deleted_at IS NULL AND t._owsync_dirty RETURNING 1) SELECT "
              "count(*) FROM c",
          {ctx_->deployment_id, ctx_->client, m_->table}, StatementDeadline()));
  stats->conflicts += std::stoll(std::string(conflicts.GetValue(0, 0)));
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult res,
      conn_->ExecParams(
          "UPDATE " + m_->qualified + " t SET _owsync_deleted_at = now(), _owsync_offset = " +
              std::to_string(end.offset) + " WHERE t._owsync_offset < " + begin +
              " AND t._owsync_deleted_at IS NULL AND NOT t._owsync_dirty AND NOT EXISTS (SELECT "
              "1 FROM sync_metadata.dead_letters d WHERE d.client_name = $1 AND d.table_name = "
              "$2 AND d.outbox_offset >= " +
              begin + " AND md5(d.record_key) = md5(" + KeyArray("t") +
              ") AND d.record_key = " + KeyArray("t") + ")",
          {ctx_->client, m_->table}, StatementDeadline()));
  stats->tombstones += res.affected_rows();
  return Status::OK();
}

}  // namespace owsync::shipper
