// Snapshotter: copies one table's current rows into the outbox without blocking the
// application. The caller installs the table's triggers first (so every change made during
// the snapshot is in the changelog and drained after the rows it touches were read), then:
//   Start(): appends kSnapshotBegin (after the table's kSchema record when needed);
//   Step():  reads the next chunk in key order in its own short BEGIN IMMEDIATE transaction
//            that first rotates the drain token (DrainToken: the chunk's records carry it;
//            buffered records of the previous token are committed first) (keyset
//            pagination: WHERE (key) > (last key) ORDER BY key LIMIT n; chunks bounded by
//            rows and bytes, at least one row each), appends the rows as kUpsert records, and
//            commits the outbox whenever enough is buffered; rows with a NULL in a nullable
//            key column are read first, by rowid;
//   after the last chunk it appends kSnapshotEnd (naming the begin offset) and commits, so
//   the end record is durable when Step returns kDone. The shipper then tombstones the
//   table's rows it holds from before the begin record that the snapshot did not carry:
//   deletes no trigger saw (INSERT OR REPLACE through a secondary UNIQUE index, rows deleted
//   while a rebuilt table had no triggers) are caught that way.
// A snapshot abandoned midway (table rebuilt, writer failure, crash) leaves a begin without an
// end in the outbox; the next snapshot of the table begins anew, and only a matching end
// record means anything. Progress goes to the logger (every progress interval) and to the
// optional callback (every chunk).
#ifndef OWSYNC_CAPTURE_SNAPSHOTTER_H_
#define OWSYNC_CAPTURE_SNAPSHOTTER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "capture/catalog.h"
#include "capture/changelog.h"
#include "capture/record_emitter.h"
#include "capture/snapshot_progress.h"
#include "capture/sqlite_db.h"
#include "util/clock.h"
#include "util/logger.h"
#include "util/result.h"

namespace owsync::capture {

struct SnapshotOptions {
  size_t chunk_rows = 2000;
  uint64_t chunk_bytes = 8ull << 20;    // row data per chunk (soft: one row may exceed it)
  uint64_t commit_bytes = 16ull << 20;  // commit the outbox once this much is buffered
  int64_t log_interval_micros = 10'000'000;
};

enum class SnapshotStep {
  kMore,           // call Step again
  kDone,           // end record durable; the snapshot is complete
  kSchemaChanged,  // nothing read: the catalog is stale; reconcile, then Step again
  kRestart,        // the table's key changed or the table is gone: the job was abandoned
};

class Snapshotter {
 public:
  Snapshotter(SqliteDb* db, RecordEmitter* emitter, Clock* clock, Logger* logger,
              SnapshotOptions options, SnapshotProgressFn on_progress = nullptr);

  [[nodiscard]] Status Start(const TableInfo& table);
  Result<SnapshotStep> Step(const Catalog& catalog);
  void Abandon();

  bool active() const { return job_.has_value(); }
  const std::string& table() const;
  const SnapshotProgress& progress() const { return job_->progress; }

 private:
  struct Job {
    TableInfo info;
    uint64_t begin_offset = 0;
    bool null_pass_done = false;
    int64_t null_pass_rowid = 0;
    bool has_cursor = false;
    std::vector<outbox::Value> cursor;  // key of the last row read
    int64_t started_micros = 0;
    int64_t last_log_micros = 0;
    SnapshotProgress progress;
  };
  Result<bool> ReadChunk(Job* job);  // true: the table has no more rows
  void Report(Job* job, bool force_log);

  SqliteDb* db_;
  RecordEmitter* emitter_;
  Clock* clock_;
  Logger* logger_;
  SnapshotOptions options_;
  SnapshotProgressFn on_progress_;
  Changelog changelog_;
  std::optional<Job> job_;
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_SNAPSHOTTER_H_
