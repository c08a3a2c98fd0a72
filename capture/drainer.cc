#include "capture/drainer.h"

#include <cstring>
#include <unordered_map>
#include <vector>

#include "capture/capture_meta.h"
#include "capture/drain_token.h"
#include "capture/sqlite_txn.h"

namespace owsync::capture {

struct Drainer::Group {
  const TableInfo* table = nullptr;  // null: not replicated
  std::string table_name;
  std::vector<outbox::Value> key;
  int64_t first_seq = 0;
  int64_t last_seq = 0;
};

namespace {

void AppendKeyBytes(std::string* out, const outbox::Value& v) {
  out->push_back(static_cast<char>(v.type));
  char buf[8];
  switch (v.type) {
    case outbox::ValueType::kNull:
      break;
    case outbox::ValueType::kInteger:
      std::memcpy(buf, &v.integer, 8);
      out->append(buf, 8);
      break;
    case outbox::ValueType::kReal:
      std::memcpy(buf, &v.real, 8);
      out->append(buf, 8);
      break;
    case outbox::ValueType::kText:
    case outbox::ValueType::kBlob: {
      uint64_t n = v.bytes.size();
      std::memcpy(buf, &n, 8);
      out->append(buf, 8);
      out->append(v.bytes);
      break;
    }
  }
}

}  // namespace

Drainer::Drainer(SqliteDb* db, RecordEmitter* emitter, Clock* clock, Logger* logger,
                 DrainOptions options)
    : db_(db),
      emitter_(emitter),
      clock_(clock),
      logger_(logger),
      options_(options),
      changelog_(db),
      keys_(db, emitter) {}

void Drainer::Invalidate() {
  keys_.Invalidate();
  statements_schema_version_ = -1;
  changelog_ = Changelog(db_);
}

Result<uint64_t> Drainer::EmitKey(const TableInfo& t, const Group& g, DrainResult* result) {
  OWSYNC_ASSIGN_OR_RETURN(KeyEmitted e, keys_.Emit(t, g.key, static_cast<uint64_t>(g.last_seq)));
  result->upserts += e.upserts;
  result->deletes += e.deletes;
  return e.row_bytes;
}

Status Drainer::DeleteDrained(int64_t bound) {
  pending_delete_bound_ = bound;
  auto txn = SqliteTxn::BeginImmediate(db_);
  if (!txn.ok()) return txn.status();
  OWSYNC_RETURN_IF_ERROR(changelog_.DeleteBelow(bound).status());
  CaptureMeta meta(db_);
  OWSYNC_RETURN_IF_ERROR(meta.Put(CaptureMeta::kDrainedSeq, std::to_string(bound - 1)));
  OWSYNC_RETURN_IF_ERROR(meta.Put(CaptureMeta::kDrainedAt, std::to_string(clock_->NowMicros())));
  OWSYNC_RETURN_IF_ERROR(txn->Commit());
  pending_delete_bound_ = 0;
  return Status::OK();
}

Status Drainer::EmitBatch(const Catalog& catalog, std::vector<ChangeEntry>* entries,
                          std::map<std::string, const TableInfo*>* tables,
                          std::map<std::string, size_t>* unreplicated, int64_t* bound,
                          DrainResult* result) {
  // Coalesce per (table, key), in the order of each key's first entry.
  std::vector<Group> groups;
  std::unordered_map<std::string, size_t> index;
  std::string id;
  for (auto& e : *entries) {
    auto t = tables->find(e.table);
    if (t == tables->end()) t = tables->emplace(e.table, catalog.FindReplicable(e.table)).first;
    size_t width = t->second != nullptr ? t->second->key_columns.size() : 0;
    if (width > e.key.size()) width = 0;  // cannot happen with our triggers; treat as unknown
    e.key.resize(width);
    id.assign(e.table);
    id.push_back('\0');
    for (const auto& v : e.key) AppendKeyBytes(&id, v);
    auto [it, inserted] = index.emplace(id, groups.size());
    if (inserted) {
      Group g;
      g.table = width > 0 ? t->second : nullptr;
      g.table_name = e.table;
      g.key = std::move(e.key);
      g.first_seq = e.seq;
      groups.push_back(std::move(g));
    }
    groups[it->second].last_seq = e.seq;
  }

  size_t taken = 0;
  for (const Group& g : groups) {
    if (taken > 0 && result->row_bytes >= options_.max_bytes) {
      *bound = g.first_seq;
      result->more = true;
      break;
    }
    ++taken;
    if (g.table == nullptr) {
      ++(*unreplicated)[g.table_name];
      continue;
    }
    OWSYNC_ASSIGN_OR_RETURN(uint64_t bytes, EmitKey(*g.table, g, result));
    result->row_bytes += bytes;
  }
  return Status::OK();
}

Result<DrainResult> Drainer::DrainOnce(const Catalog& catalog) {
  DrainResult result;
  if (pending_delete_bound_ > 0) {
    Status s = DeleteDrained(pending_delete_bound_);
    if (s.code() == StatusCode::kBusy) {
      result.delete_pending = true;
      return result;
    }
    OWSYNC_RETURN_IF_ERROR(s);
  }
  if (statements_schema_version_ != catalog.schema_version) {
    keys_.Invalidate();
    OWSYNC_RETURN_IF_ERROR(changelog_.KeyColumnCount().status());
    statements_schema_version_ = catalog.schema_version;
  }

  OWSYNC_RETURN_IF_ERROR(DrainToken::Settle(emitter_));
  OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginImmediate(db_));
  OWSYNC_ASSIGN_OR_RETURN(int64_t schema_version, db_->SchemaVersion());
  if (schema_version != catalog.schema_version) {
    result.schema_changed = true;
    return result;
  }
  OWSYNC_ASSIGN_OR_RETURN(std::vector<ChangeEntry> entries,
                          changelog_.ReadBatch(options_.max_changes));
  if (entries.empty()) {
    OWSYNC_RETURN_IF_ERROR(txn.Commit());
    return result;
  }
  OWSYNC_ASSIGN_OR_RETURN(int64_t counter, changelog_.Counter());
  emitter_->NoteSeq(counter);
  OWSYNC_RETURN_IF_ERROR(DrainToken::Rotate(db_, emitter_));

  int64_t bound = entries.back().seq + 1;
  std::map<std::string, const TableInfo*> tables;
  std::map<std::string, size_t> unreplicated;
  Status read = EmitBatch(catalog, &entries, &tables, &unreplicated, &bound, &result);
  if (read.ok()) read = txn.Commit();
  if (!read.ok()) {
    emitter_->AbortBatch();
    return read;
  }

  for (const auto& e : entries) {
    if (e.seq >= bound) break;
    ++result.entries;
    result.last_seq = e.seq;
    const auto* t = tables[e.table];
    if (t == nullptr) ++result.unreplicated;
  }
  for (const auto& [table, keys] : unreplicated) {
    logger_->Warn(
        "changelog entries for table \"{}\" ({} keys) dropped: the table is not "
        "replicated now (dropped, renamed, excluded or without a usable key)",
        table, keys);
  }
  if (entries.size() >= options_.max_changes) result.more = true;

  OWSYNC_RETURN_IF_ERROR(emitter_->Commit());
  emitter_->NoteSeq(result.last_seq);
  Status s = DeleteDrained(bound);
  if (s.code() == StatusCode::kBusy) {
    result.delete_pending = true;
    logger_->Debug("delete of drained changelog entries below seq {} is busy; retrying", bound);
    return result;
  }
  OWSYNC_RETURN_IF_ERROR(s);
  return result;
}

}  // namespace owsync::capture
