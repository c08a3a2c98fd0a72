#include "capture/key_emitter.h"

#include "capture/table_queries.h"

namespace owsync::capture {

Result<SqliteStmt*> KeyEmitter::LookupStmt(const TableInfo& t) {
  auto it = lookup_.find(t.name);
  if (it == lookup_.end()) {
    OWSYNC_ASSIGN_OR_RETURN(SqliteStmt stmt, db_->Prepare(TableQueries::SelectByKey(t)));
    it = lookup_.emplace(t.name, std::move(stmt)).first;
  }
  return &it->second;
}

Result<KeyEmitted> KeyEmitter::Emit(const TableInfo& t, const std::vector<outbox::Value>& key,
                                    uint64_t source_seq) {
  OWSYNC_ASSIGN_OR_RETURN(SqliteStmt * stmt, LookupStmt(t));
  for (size_t i = 0; i < key.size(); ++i) {
    OWSYNC_RETURN_IF_ERROR(stmt->Bind(static_cast<int>(i + 1), key[i]));
  }
  KeyEmitted out;
  bool exact_found = false;
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) {
      stmt->Reset();
      return row.status();
    }
    if (!*row) break;
    outbox::Record r;
    r.type = outbox::RecordType::kUpsert;
    r.source_seq = source_seq;
    out.row_bytes += TableQueries::ReadRow(*stmt, 0, t.columns.size(), &r.row);
    r.key = TableQueries::KeyOf(t, r.row);
    if (r.key == key) exact_found = true;
    auto appended = emitter_->AppendData(t, &r);
    if (!appended.ok()) {
      stmt->Reset();
      return appended.status();
    }
    ++out.upserts;
  }
  stmt->Reset();
  if (!exact_found) {
    outbox::Record r;
    r.type = outbox::RecordType::kDelete;
    r.source_seq = source_seq;
    r.key = key;
    OWSYNC_RETURN_IF_ERROR(emitter_->AppendData(t, &r).status());
    ++out.deletes;
  }
  return out;
}

}  // namespace owsync::capture
