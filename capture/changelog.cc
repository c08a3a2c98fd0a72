#include "capture/changelog.h"

#include "capture/sql_quote.h"

namespace owsync::capture {

Status Changelog::Create() {
  std::string sql = "CREATE TABLE IF NOT EXISTS " + QuoteIdentifier(kTable) +
                    " (seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, "
                    "op INTEGER NOT NULL, ts INTEGER NOT NULL";
  for (int i = 0; i < kInitialKeyColumns; ++i) sql += ", " + KeyColumnName(i);
  sql += ")";
  cached_key_columns_ = 0;
  return db_->Exec(sql);
}

Result<bool> Changelog::Exists() {
  OWSYNC_ASSIGN_OR_RETURN(
      int64_t n, db_->QueryInt64("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                                 "name = '_owsync_changes'"));
  return n > 0;
}

Result<int> Changelog::KeyColumnCount() {
  OWSYNC_ASSIGN_OR_RETURN(
      SqliteStmt stmt,
      db_->Prepare("SELECT name FROM pragma_table_info('_owsync_changes', 'main') ORDER BY cid"));
  int n = 0;
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    if (stmt.ColumnText(0) == KeyColumnName(n)) ++n;
  }
  if (n != cached_key_columns_) {
    cached_key_columns_ = n;
    read_stmt_ = SqliteStmt();
  }
  return n;
}

Status Changelog::EnsureKeyColumns(int n) {
  OWSYNC_ASSIGN_OR_RETURN(int have, KeyColumnCount());
  for (int i = have; i < n; ++i) {
    OWSYNC_RETURN_IF_ERROR(
        db_->Exec("ALTER TABLE " + QuoteIdentifier(kTable) + " ADD COLUMN " + KeyColumnName(i)));
  }
  if (have < n) OWSYNC_RETURN_IF_ERROR(KeyColumnCount().status());
  return Status::OK();
}

Result<int64_t> Changelog::Counter() {
  return db_->QueryInt64("SELECT seq FROM sqlite_sequence WHERE name = '_owsync_changes'");
}

Result<std::vector<ChangeEntry>> Changelog::ReadBatch(size_t max) {
  if (cached_key_columns_ == 0 || !read_stmt_.valid()) {
    OWSYNC_RETURN_IF_ERROR(KeyColumnCount().status());
  }
  if (!read_stmt_.valid() || read_stmt_limit_ != max) {
    std::string sql = "SELECT seq, tbl, op, ts";
    for (int i = 0; i < cached_key_columns_; ++i) sql += ", " + KeyColumnName(i);
    sql += " FROM " + QuoteIdentifier(kTable) + " ORDER BY seq LIMIT " + std::to_string(max);
    OWSYNC_ASSIGN_OR_RETURN(read_stmt_, db_->Prepare(sql));
    read_stmt_limit_ = max;
  }
  std::vector<ChangeEntry> out;
  while (true) {
    auto row = read_stmt_.Step();
    if (!row.ok()) {
      read_stmt_ = SqliteStmt();  // the table may have changed shape: prepare again next time
      cached_key_columns_ = 0;
      return row.status();
    }
    if (!*row) break;
    ChangeEntry e;
    e.seq = read_stmt_.ColumnInt64(0);
    e.table = read_stmt_.ColumnText(1);
    e.op = static_cast<ChangeOp>(read_stmt_.ColumnInt64(2));
    e.ts = read_stmt_.ColumnInt64(3);
    e.key.reserve(cached_key_columns_);
    for (int i = 0; i < cached_key_columns_; ++i) e.key.push_back(read_stmt_.ColumnValue(4 + i));
    out.push_back(std::move(e));
  }
  read_stmt_.Reset();
  return out;
}

Result<int64_t> Changelog::DeleteBelow(int64_t bound) {
  OWSYNC_ASSIGN_OR_RETURN(SqliteStmt stmt,
                          db_->Prepare("DELETE FROM _owsync_changes WHERE seq < ?1"));
  OWSYNC_RETURN_IF_ERROR(stmt.BindInt64(1, bound));
  OWSYNC_RETURN_IF_ERROR(stmt.Run());
  return db_->QueryInt64("SELECT changes()");
}

Result<ChangelogStats> Changelog::Stats() {
  ChangelogStats s;
  OWSYNC_ASSIGN_OR_RETURN(SqliteStmt stmt,
                          db_->Prepare("SELECT count(*), min(seq), max(seq) FROM _owsync_changes"));
  OWSYNC_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (row) {
    s.rows = stmt.ColumnInt64(0);
    s.min_seq = stmt.ColumnInt64(1);
    s.max_seq = stmt.ColumnInt64(2);
  }
  OWSYNC_ASSIGN_OR_RETURN(s.oldest_ts,
                          db_->QueryInt64("SELECT ts FROM _owsync_changes ORDER BY seq LIMIT 1"));
  return s;
}

Result<ChangelogStats> Changelog::QuickStats() {
  ChangelogStats s;
  OWSYNC_ASSIGN_OR_RETURN(SqliteStmt stmt,
                          db_->Prepare("SELECT min(seq), max(seq) FROM _owsync_changes"));
  OWSYNC_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (row && !stmt.ColumnIsNull(0)) {
    s.min_seq = stmt.ColumnInt64(0);
    s.max_seq = stmt.ColumnInt64(1);
    s.rows = s.max_seq - s.min_seq + 1;  // an upper bound: seqs may have gaps
  }
  OWSYNC_ASSIGN_OR_RETURN(s.oldest_ts,
                          db_->QueryInt64("SELECT ts FROM _owsync_changes ORDER BY seq LIMIT 1"));
  return s;
}

Status Changelog::Drop() {
  cached_key_columns_ = 0;
  read_stmt_ = SqliteStmt();
  return db_->Exec("DROP TABLE IF EXISTS " + QuoteIdentifier(kTable));
}

}  // namespace owsync::capture
