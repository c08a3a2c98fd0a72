#include "shipper/batch_applier.h"

#include <cstring>
#include <unordered_map>

#include "outbox/record_codec.h"
#include "outbox/verify_range.h"
#include "shipper/copy_encoder.h"
#include "shipper/pg_error.h"
#include "shipper/record_key.h"
#include "shipper/shipper_session_mark.h"
#include "shipper/table_applier.h"
#include "util/hex.h"

namespace owsync::shipper {

namespace {

// A byte string that identifies a key exactly (type and value) as SQLite tells keys apart.
void AppendKeyBytes(const std::vector<outbox::Value>& key, std::string* out) {
  for (const auto& v : key) {
    out->push_back(static_cast<char>(v.type));
    switch (v.type) {
      case outbox::ValueType::kNull:
        break;
      case outbox::ValueType::kInteger:
        out->append(reinterpret_cast<const char*>(&v.integer), sizeof(v.integer));
        break;
      case outbox::ValueType::kReal:
        out->append(reinterpret_cast<const char*>(&v.real), sizeof(v.real));
        break;
      case outbox::ValueType::kText:
      case outbox::ValueType::kBlob: {
        uint64_t n = v.bytes.size();
        out->append(reinterpret_cast<const char*>(&n), sizeof(n));
        out->append(v.bytes);
        break;
      }
    }
  }
}

// The key as PostgreSQL will see it: the COPY fields of the key columns in their target types
// (text 'a' and blob x'61' are one bytea key there). A value that does not fit its column
// keeps SQLite's identity: the row becomes a dead letter anyway.
std::string PgKeyBytes(const TableMapping& m, const std::vector<outbox::Value>& key) {
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    const int t = i < m.key_target.size() ? m.key_target[i] : -1;
    std::string field;
    if (t < 0 ||
        !CopyEncoder::AppendField(key[i], m.target[static_cast<size_t>(t)].type, &field).ok()) {
      out.push_back('\x01');
      AppendKeyBytes({key[i]}, &out);
      continue;
    }
    out.push_back('\x02');
    const uint64_t n = field.size();
    out.append(reinterpret_cast<const char*>(&n), sizeof(n));
    out.append(field);
  }
  return out;
}

}  // namespace

Deadline BatchApplier::StatementDeadline() const {
  return Deadline::After(ctx_.clock, ctx_.statement_micros);
}

Result<TenantOffset> BatchApplier::ReadOffset(PgConnection* conn, const std::string& client,
                                              Deadline deadline) {
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult res, conn->ExecParams("SELECT acked_offset, COALESCE(outbox_id, ''), acked_epoch, "
                                     "schema_version, COALESCE(deployment_id::text, ''), "
                                     "COALESCE(acked_fingerprint, '') FROM "
                                     "sync_metadata.tenant_offsets WHERE client_name = $1",
                                     {client}, deadline));
  if (res.rows() == 0) {
    return Status::NotFound("tenant '" + client +
                            "' is not registered (no sync_metadata.tenant_offsets row visible "
                            "to this role): run `owsync provision` for it on this host");
  }
  TenantOffset o;
  o.acked_offset = std::stoull(std::string(res.GetValue(0, 0)));
  o.outbox_id = res.GetValue(0, 1);
  o.acked_epoch = std::stoll(std::string(res.GetValue(0, 2)));
  o.schema_version = std::stoll(std::string(res.GetValue(0, 3)));
  o.deployment_id = res.GetValue(0, 4);
  o.acked_fingerprint = res.GetValue(0, 5);
  return o;
}

Result<TenantOffset> BatchApplier::Claim(PgConnection* conn, int64_t epoch) {
  std::string e = std::to_string(epoch);
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult res,
      conn->ExecParams(
          "UPDATE sync_metadata.tenant_offsets o SET acked_epoch = $2::bigint WHERE "
          "o.client_name = $1 AND o.acked_epoch <= $2::bigint AND EXISTS (SELECT 1 FROM "
          "sync_metadata.leader_election l WHERE l.cluster_name = $3 AND l.epoch = $2::bigint) "
          "RETURNING acked_offset, COALESCE(outbox_id, ''), schema_version, "
          "COALESCE(deployment_id::text, ''), COALESCE(acked_fingerprint, '')",
          {ctx_.client, e, cluster_}, StatementDeadline()));
  if (res.rows() == 0) {
    OWSYNC_ASSIGN_OR_RETURN(TenantOffset now, ReadOffset(conn, ctx_.client, StatementDeadline()));
    return Status::FailedPrecondition("fenced: tenant '" + ctx_.client + "' is claimed by epoch " +
                                      std::to_string(now.acked_epoch) + " or epoch " + e +
                                      " no longer holds the lease of "
                                      "cluster '" +
                                      cluster_ + "'; this shipper must not commit");
  }
  TenantOffset o;
  o.acked_offset = std::stoull(std::string(res.GetValue(0, 0)));
  o.outbox_id = res.GetValue(0, 1);
  o.acked_epoch = epoch;
  o.schema_version = std::stoll(std::string(res.GetValue(0, 2)));
  o.deployment_id = res.GetValue(0, 3);
  o.acked_fingerprint = res.GetValue(0, 4);
  return o;
}

Result<BatchOutcome> BatchApplier::Apply(PgConnection* conn, const Batch& batch, int64_t epoch) {
  if (!lz4_.has_value()) {
    OWSYNC_ASSIGN_OR_RETURN(PgResult res,
                            conn->Exec("SELECT count(*) FROM pg_settings WHERE name = "
                                       "'default_toast_compression' AND 'lz4' = ANY (enumvals)",
                                       StatementDeadline()));
    lz4_ = res.GetValue(0, 0) == "1";
  }
  ctx_.outbox_id = batch.outbox_id;
  // The mark tells a new leader's claim that this transaction is a shipper's of this tenant.
  std::string begin = "BEGIN; " + ShipperSessionMark::TakeSql(ctx_.client) +
                      "; SET LOCAL owsync.applying = 'on'; SET LOCAL lock_timeout = '5s'";
  // Staging tables compress like the targets, so TOASTed values move over as they are.
  if (*lz4_) begin += "; SET LOCAL default_toast_compression = lz4";
  OWSYNC_RETURN_IF_ERROR(conn->Exec(begin, StatementDeadline()).status());
  Result<BatchOutcome> outcome = ApplyInTransaction(conn, batch, epoch);
  if (!outcome.ok() || outcome->already_applied) {
    if (!conn->is_broken()) {
      (void)conn->Exec("ROLLBACK", StatementDeadline());
    }
    return outcome;
  }
  OWSYNC_RETURN_IF_ERROR(conn->Exec("COMMIT", StatementDeadline()).status());
  empty_at_begin_ = std::move(pending_empty_at_begin_);
  return outcome;
}

Result<BatchOutcome> BatchApplier::ApplyInTransaction(PgConnection* conn, const Batch& batch,
                                                      int64_t epoch) {
  OWSYNC_ASSIGN_OR_RETURN(TenantOffset offset, Claim(conn, epoch));
  ctx_.deployment_id = offset.deployment_id;
  BatchOutcome outcome;
  const std::string rebase = "`owsync tenant rebase " + ctx_.client + " --outbox DIR`";
  if (!offset.outbox_id.empty() && offset.outbox_id != batch.outbox_id) {
    return Status::FailedPrecondition(
        "tenant '" + ctx_.client + "': PostgreSQL holds outbox " + offset.outbox_id +
        " up to offset " + std::to_string(offset.acked_offset) + " but the outbox is " +
        batch.outbox_id +
        " (a recreated outbox or a new generation); nothing is skipped: if "
        "the new outbox starts with a full snapshot, accept it with " +
        rebase);
  }
  if (offset.acked_offset >= batch.last_offset()) {
    outcome.already_applied = true;
    outcome.acked_offset = offset.acked_offset;
    return outcome;
  }
  if (batch.first_offset() > offset.acked_offset + 1) {
    return Status::FailedPrecondition(
        "tenant '" + ctx_.client + "': gap: PostgreSQL acknowledged up to offset " +
        std::to_string(offset.acked_offset) + " but the batch starts at " +
        std::to_string(batch.first_offset()) +
        " (records were deleted before they were "
        "shipped); nothing is skipped: re-snapshot the tenant and accept it with " +
        rebase);
  }
  if (schema_version_ != offset.schema_version) {
    OWSYNC_RETURN_IF_ERROR(catalog_.ReloadTargets(conn, StatementDeadline()));
    schema_version_ = offset.schema_version;
  }

  uint64_t name_seq = 0;
  // Committed with the batch only (a failed batch leaves empty_at_begin_ as it was).
  std::map<std::string, uint64_t> empty_at_begin = empty_at_begin_;
  std::map<std::string, PendingTable> pending;
  std::vector<DeadLetter> dead;
  auto flush = [&](const std::string& table) -> Status {
    auto it = pending.find(table);
    if (it == pending.end() || it->second.rows.empty()) return Status::OK();
    const TableMapping* m = catalog_.Find(table);
    int& wait = direct_wait_[table];
    bool try_direct = wait == 0;
    if (wait > 0) --wait;
    bool direct_failed = false;
    TableApplier applier(conn, &ctx_, m, &name_seq);
    OWSYNC_RETURN_IF_ERROR(
        applier.Apply(it->second.rows, try_direct, &direct_failed, &dead, &outcome.stats));
    int& backoff = direct_backoff_[table];
    if (direct_failed) {
      backoff = std::min(backoff == 0 ? 1 : backoff * 2, 64);
      wait = backoff;
    } else if (try_direct) {
      backoff = 0;
    }
    pending.erase(it);
    return Status::OK();
  };

  for (const outbox::Record& r : batch.records) {
    if (r.offset <= offset.acked_offset) continue;  // applied by an earlier transaction
    switch (r.type) {
      case outbox::RecordType::kSchema: {
        OWSYNC_RETURN_IF_ERROR(flush(r.table));
        OWSYNC_RETURN_IF_ERROR(catalog_.ApplySchema(r));
        OWSYNC_ASSIGN_OR_RETURN(std::string sql, catalog_.SaveSchemaSql(conn, r.table, r.offset));
        OWSYNC_RETURN_IF_ERROR(conn->Exec(sql, StatementDeadline()).status());
        break;
      }
      case outbox::RecordType::kUpsert:
      case outbox::RecordType::kDelete: {
        const TableMapping* m = catalog_.Find(r.table);
        if (m == nullptr) {
          return catalog_.ApplySchema(r);  // the "not provisioned" error, naming --migrate
        }
        if (!m->has_source) {
          return Status::Corruption("tenant '" + ctx_.client + "': outbox offset " +
                                    std::to_string(r.offset) + " holds a row of table '" + r.table +
                                    "' before any schema record describing it");
        }
        if (AddPending(*m, r, &pending[r.table], &dead)) outcome.stats.dead_letters++;
        break;
      }
      case outbox::RecordType::kSnapshotBegin: {
        // A table without live rows when its snapshot begins has nothing for the snapshot's
        // end to tombstone (later rows carry later offsets): remember it, skip two scans.
        const TableMapping* m = catalog_.Find(r.table);
        if (m == nullptr) break;
        OWSYNC_RETURN_IF_ERROR(flush(r.table));
        OWSYNC_ASSIGN_OR_RETURN(PgResult empty,
                                conn->Exec("SELECT NOT EXISTS (SELECT 1 FROM " + m->qualified +
                                               " WHERE _owsync_deleted_at IS NULL)",
                                           StatementDeadline()));
        if (empty.GetValue(0, 0) == "t") empty_at_begin[r.table] = r.offset;
        break;
      }
      case outbox::RecordType::kVerify: {
        // What SQLite held over a key range at this point: everything before it is applied
        // (the table's pending rows, and dead letters so far) before PostgreSQL is compared.
        const TableMapping* m = catalog_.Find(r.table);
        if (m == nullptr || !m->has_source) break;  // nothing of it here to compare
        OWSYNC_RETURN_IF_ERROR(flush(r.table));
        OWSYNC_RETURN_IF_ERROR(WriteDeadLetters(conn, dead));
        dead.clear();
        Result<outbox::VerifyRange> range = outbox::VerifyRange::FromRecord(r);
        DriftReport report;
        if (range.ok()) {
          DriftCheck check(conn, &ctx_, m, &name_seq);
          OWSYNC_ASSIGN_OR_RETURN(report, check.Run(*range, r.offset));
        } else {
          report.table = r.table;
          report.skipped = range.status().ToString();
        }
        report.offset = r.offset;
        outcome.stats.verified_ranges += report.skipped.empty() ? 1 : 0;
        outcome.stats.drift_rows += report.missing + report.different + report.extra;
        outcome.verified.push_back(std::move(report));
        break;
      }
      case outbox::RecordType::kSnapshotEnd: {
        const TableMapping* m = catalog_.Find(r.table);
        if (m == nullptr) return catalog_.ApplySchema(r);
        OWSYNC_RETURN_IF_ERROR(flush(r.table));
        // The snapshot's rows refused so far are dead letters before its end looks for rows
        // it did not carry: a dead-lettered row is alive in SQLite, never tombstoned.
        OWSYNC_RETURN_IF_ERROR(WriteDeadLetters(conn, dead));
        dead.clear();
        auto known = empty_at_begin.find(r.table);
        if (known == empty_at_begin.end() || known->second != r.snapshot_begin_offset) {
          TableApplier applier(conn, &ctx_, m, &name_seq);
          OWSYNC_RETURN_IF_ERROR(applier.ApplySnapshotEnd(r, &outcome.stats));
        }
        if (known != empty_at_begin.end()) empty_at_begin.erase(known);
        break;
      }
    }
  }
  std::vector<std::string> tables;
  for (const auto& [name, p] : pending) tables.push_back(name);
  for (const auto& name : tables) OWSYNC_RETURN_IF_ERROR(flush(name));
  OWSYNC_RETURN_IF_ERROR(WriteDeadLetters(conn, dead));
  OWSYNC_RETURN_IF_ERROR(
      conn->ExecParams("UPDATE sync_metadata.tenant_offsets SET acked_offset = $2::bigint, "
                       "outbox_id = $3, acked_fingerprint = NULLIF($4, ''), verified_ranges = "
                       "verified_ranges + $5::bigint, verified_at = CASE WHEN $5::bigint > 0 "
                       "THEN now() ELSE verified_at END, updated_at = now() "
                       "WHERE client_name = $1",
                       {ctx_.client, std::to_string(batch.last_offset()), batch.outbox_id,
                        batch.last_fingerprint, std::to_string(outcome.stats.verified_ranges)},
                       StatementDeadline())
          .status());
  outcome.acked_offset = batch.last_offset();
  pending_empty_at_begin_ = std::move(empty_at_begin);
  return outcome;
}

bool BatchApplier::AddPending(const TableMapping& m, const outbox::Record& r, PendingTable* p,
                              std::vector<DeadLetter>* dead) const {
  auto [it, inserted] = p->index.emplace(PgKeyBytes(m, r.key), p->rows.size());
  if (inserted) {
    p->rows.push_back(&r);
    return false;
  }
  const outbox::Record* older = p->rows[it->second];
  p->rows[it->second] = &r;  // the newer version of the same PostgreSQL key wins
  if (older->type == outbox::RecordType::kUpsert && older->key != r.key) {
    // Two SQLite keys (text 'a', blob x'61') that PostgreSQL cannot tell apart: the older
    // row cannot be held beside the newer one.
    dead->push_back({older,
                     "its key " + RecordKeyJson(older->key) +
                         " is the same key in PostgreSQL as the key " + RecordKeyJson(r.key) +
                         " of the newer row at outbox offset " + std::to_string(r.offset) +
                         " (SQLite tells them apart by type, PostgreSQL cannot)",
                     ""});
    return true;
  }
  return false;
}

Status BatchApplier::WriteDeadLetters(PgConnection* conn, const std::vector<DeadLetter>& dead) {
  for (const DeadLetter& d : dead) {
    std::string raw;
    outbox::EncodeRecord(*d.record, &raw);
    if (ctx_.logger != nullptr) {
      ctx_.logger->Warn("tenant {}: dead letter at outbox offset {} (table {}, key {}): {}",
                        ctx_.client, d.record->offset, d.record->table,
                        RecordKeyJson(d.record->key), d.reason);
    }
    OWSYNC_RETURN_IF_ERROR(
        conn->ExecParams("INSERT INTO sync_metadata.dead_letters (client_name, deployment_id, "
                         "table_name, record_key, outbox_id, outbox_offset, raw_record, reason, "
                         "sqlstate) VALUES ($1, NULLIF($2, '')::uuid, $3, $4, $5, $6::bigint, "
                         "decode($7, 'hex'), $8, NULLIF($9, ''))",
                         {ctx_.client, ctx_.deployment_id, d.record->table,
                          RecordKeyJson(d.record->key), ctx_.outbox_id,
                          std::to_string(d.record->offset), HexEncode(raw), d.reason, d.sqlstate},
                         StatementDeadline())
            .status());
  }
  return Status::OK();
}

}  // namespace owsync::shipper
