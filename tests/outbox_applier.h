// OutboxApplier: a reference consumer of an outbox for tests. It applies the records, in
// offset order, to a SQLite "copy" database that starts empty, the way the shipper applies
// them to PostgreSQL:
//  - kSchema creates the table, or rebuilds it to the described columns (rows keep the columns
//    both shapes have). Copy columns carry no declared type, so every value is stored exactly
//    as the record holds it; PRIMARY KEY is the record's key; no other constraint exists (a
//    secondary UNIQUE constraint could otherwise make an upsert delete or fail on other rows).
//  - kUpsert deletes the key, then inserts the row image (never INSERT OR REPLACE).
//  - kDelete deletes the key.
//  - kSnapshotEnd deletes rows of its table last written below its kSnapshotBegin's offset.
// Each copy row has a hidden column `_owsync_applied_offset`: the offset of its last upsert.
// Anything inconsistent (offset gap, row of the wrong width, key not matching the row image,
// a record for a table without schema) is an error, never skipped.
#ifndef OWSYNC_TESTS_OUTBOX_APPLIER_H_
#define OWSYNC_TESTS_OUTBOX_APPLIER_H_

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/sqlite_handle.h"
#include "outbox/record.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::testing {

inline constexpr char kAppliedOffsetColumn[] = "_owsync_applied_offset";

struct ApplierStats {
  int64_t records = 0;
  int64_t upserts = 0;
  int64_t deletes = 0;
  int64_t schemas = 0;
  int64_t snapshots = 0;         // completed (end records)
  int64_t snapshot_deleted = 0;  // rows removed at snapshot ends
  std::string ToString() const;
};

class OutboxApplier {
 public:
  // Creates (or opens) the copy database at `copy_path`.
  static Result<std::unique_ptr<OutboxApplier>> Open(const std::string& copy_path);

  // Applies every record of the outbox in `dir` from where the last call stopped (the first
  // retained offset on the first call) up to the durable watermark. FailedPrecondition if the
  // outbox id differs from the one applied before (a new generation needs a new copy).
  [[nodiscard]] Status ApplyOutbox(FileSystem* fs, const std::string& dir);
  // Applies one record (offsets must be contiguous across calls).
  [[nodiscard]] Status Apply(const outbox::Record& record);

  sqlite3* db() const { return db_.get(); }
  // The tables as the outbox described them last.
  const std::map<std::string, std::vector<outbox::Column>>& tables() const { return tables_; }
  const ApplierStats& stats() const { return stats_; }
  const std::string& outbox_id() const { return outbox_id_; }
  uint64_t next_offset() const { return next_offset_; }

 private:
  explicit OutboxApplier(cli::SqliteDb db) : db_(std::move(db)) {}
  Status ApplySchema(const outbox::Record& r);
  Status ApplyUpsert(const outbox::Record& r);
  Status ApplyDelete(const outbox::Record& r);
  Status ApplySnapshotEnd(const outbox::Record& r);
  Status DeleteKey(const std::string& table, const std::vector<outbox::Value>& key);
  Result<sqlite3_stmt*> Statement(const std::string& sql);
  const std::vector<outbox::Column>* Columns(const std::string& table, const outbox::Record& r,
                                             Status* error);

  cli::SqliteDb db_;
  std::map<std::string, cli::SqliteStmt> statements_;  // finalized before db_ closes
  std::map<std::string, std::vector<outbox::Column>> tables_;
  std::map<std::string, uint64_t> snapshot_begins_;  // table -> begin offset
  std::string outbox_id_;
  uint64_t next_offset_ = 0;  // 0: not started
  ApplierStats stats_;
};

}  // namespace owsync::testing

#endif  // OWSYNC_TESTS_OUTBOX_APPLIER_H_
