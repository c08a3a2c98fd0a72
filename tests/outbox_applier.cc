#include "tests/outbox_applier.h"

#include <algorithm>

#include "outbox/outbox_reader.h"

namespace owsync::testing {
namespace {

using cli::QuoteIdentifier;
using outbox::Column;
using outbox::Record;
using outbox::RecordType;
using outbox::Value;

constexpr int kRecordsPerTransaction = 2000;

// Key columns (indexes into `columns`) in key-position order.
std::vector<size_t> KeyColumns(const std::vector<Column>& columns) {
  std::vector<size_t> key;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].key_position > 0) key.push_back(i);
  }
  std::sort(key.begin(), key.end(),
            [&](size_t a, size_t b) { return columns[a].key_position < columns[b].key_position; });
  return key;
}

std::string CreateTableSql(const std::string& name, const std::vector<Column>& columns) {
  std::string sql = "CREATE TABLE " + QuoteIdentifier(name) + " (";
  for (const Column& c : columns) sql += QuoteIdentifier(c.name) + ", ";
  sql += QuoteIdentifier(kAppliedOffsetColumn) + " INTEGER NOT NULL, PRIMARY KEY (";
  bool first = true;
  for (size_t k : KeyColumns(columns)) {
    sql += (first ? "" : ", ") + QuoteIdentifier(columns[k].name);
    first = false;
  }
  return sql + "))";
}

std::string WhereKey(const std::vector<Column>& columns) {
  std::string out;
  for (size_t k : KeyColumns(columns)) {
    if (!out.empty()) out += " AND ";
    out += QuoteIdentifier(columns[k].name) + " = ?";
  }
  return out;
}

bool SameShape(const std::vector<Column>& a, const std::vector<Column>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].key_position != b[i].key_position) return false;
  }
  return true;
}

}  // namespace

std::string ApplierStats::ToString() const {
  return "records=" + std::to_string(records) + " upserts=" + std::to_string(upserts) +
         " deletes=" + std::to_string(deletes) + " schemas=" + std::to_string(schemas) +
         " snapshots=" + std::to_string(snapshots) +
         " snapshot_deleted=" + std::to_string(snapshot_deleted);
}

Result<std::unique_ptr<OutboxApplier>> OutboxApplier::Open(const std::string& copy_path) {
  OWSYNC_ASSIGN_OR_RETURN(cli::SqliteDb db, cli::OpenSqlite(copy_path, true, 5000));
  OWSYNC_RETURN_IF_ERROR(
      cli::ExecSqlite(db.get(), "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF"));
  return std::unique_ptr<OutboxApplier>(new OutboxApplier(std::move(db)));
}

Status OutboxApplier::ApplyOutbox(FileSystem* fs, const std::string& dir) {
  OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<outbox::OutboxReader> reader,
                          outbox::OutboxReader::Open(fs, dir, next_offset_));
  if (!outbox_id_.empty() && reader->outbox_id() != outbox_id_) {
    return Status::FailedPrecondition("applier: outbox id changed from " + outbox_id_ + " to " +
                                      reader->outbox_id() +
                                      "; apply a new generation to a new copy");
  }
  outbox_id_ = reader->outbox_id();
  OWSYNC_RETURN_IF_ERROR(cli::ExecSqlite(db_.get(), "BEGIN"));
  Record record;
  int in_txn = 0;
  while (true) {
    auto more = reader->Next(&record);
    if (!more.ok() || !*more) {
      Status end = cli::ExecSqlite(db_.get(), "COMMIT");
      if (!more.ok()) return more.status().WithContext("applier: reading " + dir);
      return end;
    }
    Status s = Apply(record);
    if (!s.ok()) {
      (void)cli::ExecSqlite(db_.get(), "ROLLBACK");
      return s;
    }
    if (++in_txn >= kRecordsPerTransaction) {
      OWSYNC_RETURN_IF_ERROR(cli::ExecSqlite(db_.get(), "COMMIT; BEGIN"));
      in_txn = 0;
    }
  }
}

Status OutboxApplier::Apply(const Record& r) {
  if (next_offset_ != 0 && r.offset != next_offset_) {
    return Status::Corruption("applier: expected offset " + std::to_string(next_offset_) +
                              ", got " + std::to_string(r.offset));
  }
  next_offset_ = r.offset + 1;
  ++stats_.records;
  Status s;
  switch (r.type) {
    case RecordType::kSchema:
      s = ApplySchema(r);
      break;
    case RecordType::kUpsert:
      s = ApplyUpsert(r);
      break;
    case RecordType::kDelete:
      s = ApplyDelete(r);
      break;
    case RecordType::kSnapshotBegin:
      snapshot_begins_[r.table] = r.offset;
      break;
    case RecordType::kSnapshotEnd:
      s = ApplySnapshotEnd(r);
      break;
    case RecordType::kVerify:  // checks the copy; changes nothing in it
      break;
    default:
      s = Status::Corruption("applier: unknown record type " +
                             std::to_string(static_cast<int>(r.type)));
  }
  return s.WithContext("applier: offset " + std::to_string(r.offset) + " table " + r.table);
}

Result<sqlite3_stmt*> OutboxApplier::Statement(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    OWSYNC_ASSIGN_OR_RETURN(cli::SqliteStmt stmt, cli::PrepareSqlite(db_.get(), sql));
    it = statements_.emplace(sql, std::move(stmt)).first;
  }
  sqlite3_reset(it->second.get());
  sqlite3_clear_bindings(it->second.get());
  return it->second.get();
}

const std::vector<Column>* OutboxApplier::Columns(const std::string& table, const Record& r,
                                                  Status* error) {
  auto it = tables_.find(table);
  if (it == tables_.end()) {
    *error = Status::Corruption("record of type " + std::to_string(static_cast<int>(r.type)) +
                                " for table '" + table + "' before any schema record for it");
    return nullptr;
  }
  return &it->second;
}

Status OutboxApplier::ApplySchema(const Record& r) {
  ++stats_.schemas;
  if (KeyColumns(r.columns).empty()) {
    return Status::Corruption("schema record for '" + r.table + "' without key columns");
  }
  statements_.clear();
  auto it = tables_.find(r.table);
  if (it == tables_.end()) {
    OWSYNC_RETURN_IF_ERROR(cli::ExecSqlite(db_.get(), CreateTableSql(r.table, r.columns)));
  } else if (!SameShape(it->second, r.columns)) {
    // Rebuild: new table, copy the columns both shapes have, swap.
    const std::string tmp = "_owsync_applier_rebuild";
    std::string common = QuoteIdentifier(kAppliedOffsetColumn);
    for (const Column& c : r.columns) {
      bool had = std::any_of(it->second.begin(), it->second.end(),
                             [&](const Column& o) { return o.name == c.name; });
      if (had) common += ", " + QuoteIdentifier(c.name);
    }
    OWSYNC_RETURN_IF_ERROR(cli::ExecSqlite(
        db_.get(), CreateTableSql(tmp, r.columns) + "; INSERT INTO " + QuoteIdentifier(tmp) + " (" +
                       common + ") SELECT " + common + " FROM " + QuoteIdentifier(r.table) +
                       "; DROP TABLE " + QuoteIdentifier(r.table) + "; ALTER TABLE " +
                       QuoteIdentifier(tmp) + " RENAME TO " + QuoteIdentifier(r.table)));
  }
  tables_[r.table] = r.columns;
  return Status::OK();
}

Status OutboxApplier::DeleteKey(const std::string& table, const std::vector<Value>& key) {
  const std::vector<Column>& columns = tables_.at(table);
  if (key.size() != KeyColumns(columns).size()) {
    return Status::Corruption("key of " + std::to_string(key.size()) + " values, table has " +
                              std::to_string(KeyColumns(columns).size()) + " key columns");
  }
  OWSYNC_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Statement("DELETE FROM " + QuoteIdentifier(table) +
                                                         " WHERE " + WhereKey(columns)));
  for (size_t i = 0; i < key.size(); ++i) {
    OWSYNC_RETURN_IF_ERROR(cli::BindValue(stmt, static_cast<int>(i + 1), key[i]));
  }
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return cli::SqliteStatus(db_.get(), rc, "delete key");
  return Status::OK();
}

Status OutboxApplier::ApplyUpsert(const Record& r) {
  ++stats_.upserts;
  Status error;
  const std::vector<Column>* columns = Columns(r.table, r, &error);
  if (columns == nullptr) return error;
  if (r.row.size() != columns->size()) {
    return Status::Corruption("upsert of " + std::to_string(r.row.size()) + " values, table has " +
                              std::to_string(columns->size()) + " columns");
  }
  std::vector<size_t> key_columns = KeyColumns(*columns);
  for (size_t i = 0; i < key_columns.size() && i < r.key.size(); ++i) {
    if (!(r.row[key_columns[i]] == r.key[i])) {
      return Status::Corruption("upsert whose key does not match its row image in column '" +
                                (*columns)[key_columns[i]].name + "'");
    }
  }
  OWSYNC_RETURN_IF_ERROR(DeleteKey(r.table, r.key));
  std::string sql = "INSERT INTO " + QuoteIdentifier(r.table) + " (";
  std::string values;
  for (const Column& c : *columns) {
    sql += QuoteIdentifier(c.name) + ", ";
    values += "?, ";
  }
  sql += QuoteIdentifier(kAppliedOffsetColumn) + ") VALUES (" + values + "?)";
  OWSYNC_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Statement(sql));
  for (size_t i = 0; i < r.row.size(); ++i) {
    OWSYNC_RETURN_IF_ERROR(cli::BindValue(stmt, static_cast<int>(i + 1), r.row[i]));
  }
  sqlite3_bind_int64(stmt, static_cast<int>(r.row.size() + 1), static_cast<int64_t>(r.offset));
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return cli::SqliteStatus(db_.get(), rc, "insert row image");
  return Status::OK();
}

Status OutboxApplier::ApplyDelete(const Record& r) {
  ++stats_.deletes;
  Status error;
  if (Columns(r.table, r, &error) == nullptr) return error;
  return DeleteKey(r.table, r.key);
}

Status OutboxApplier::ApplySnapshotEnd(const Record& r) {
  ++stats_.snapshots;
  auto begin = snapshot_begins_.find(r.table);
  if (begin != snapshot_begins_.end() && begin->second != r.snapshot_begin_offset) {
    return Status::Corruption("snapshot end names begin offset " +
                              std::to_string(r.snapshot_begin_offset) + ", the begin was at " +
                              std::to_string(begin->second));
  }
  snapshot_begins_.erase(r.table);
  std::vector<std::string> tables;
  if (r.table.empty()) {  // a snapshot of every table
    for (const auto& [name, cols] : tables_) tables.push_back(name);
  } else if (tables_.count(r.table) > 0) {
    tables.push_back(r.table);
  }
  for (const std::string& t : tables) {
    OWSYNC_RETURN_IF_ERROR(
        cli::ExecSqlite(db_.get(), "DELETE FROM " + QuoteIdentifier(t) + " WHERE " +
                                       QuoteIdentifier(kAppliedOffsetColumn) + " < " +
                                       std::to_string(r.snapshot_begin_offset)));
    stats_.snapshot_deleted += sqlite3_changes(db_.get());
  }
  return Status::OK();
}

}  // namespace owsync::testing
