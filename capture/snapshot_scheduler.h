// SnapshotScheduler: runs the snapshots owed, one table at a time. What is owed lives in
// _owsync_meta ("snapshot:<table>" marks set by trigger installs, new generations, column
// changes and --resnapshot, by this process or another); Load() turns the marks into a queue,
// Step() starts the next snapshot when none runs and reads one chunk of the running one.
// When a snapshot's end record is durable its mark is cleared, but only if it still has the
// value it had when the snapshot started: a mark set again meanwhile makes it run again.
// Marks of tables that are not replicated any more are cleared with a log line.
#ifndef OWSYNC_CAPTURE_SNAPSHOT_SCHEDULER_H_
#define OWSYNC_CAPTURE_SNAPSHOT_SCHEDULER_H_

#include <cstdint>
#include <deque>
#include <set>
#include <string>

#include "capture/catalog.h"
#include "capture/record_emitter.h"
#include "capture/snapshotter.h"
#include "capture/sqlite_db.h"
#include "util/clock.h"
#include "util/logger.h"
#include "util/status.h"

namespace owsync::capture {

class SnapshotScheduler {
 public:
  SnapshotScheduler(SqliteDb* db, RecordEmitter* emitter, Clock* clock, Logger* logger,
                    SnapshotOptions options, SnapshotProgressFn on_progress)
      : db_(db),
        logger_(logger),
        snapshotter_(db, emitter, clock, logger, options, std::move(on_progress)) {}

  // Queues the tables whose marks are set (short read transaction).
  [[nodiscard]] Status Load(const Catalog& catalog);
  // One chunk of the running snapshot (starting the next queued one if none runs). Sets
  // *recheck when the caller must look at the schema and the marks again before the next step.
  [[nodiscard]] Status Step(const Catalog& catalog, bool* recheck);
  // Abandons the running snapshot and forgets the queue (the marks stay: Load() brings them
  // back). Used when the outbox failed or the database was replaced.
  void Reset();
  // Abandons the running snapshot if it copies one of `tables` (their triggers were just
  // reinstalled: rows already copied may have changed unseen). Its mark brings it back.
  void AbandonIfAny(const std::set<std::string>& tables);

  bool busy() const { return snapshotter_.active() || !queue_.empty(); }
  // The tables that owe a snapshot (queued) or are being snapshotted.
  std::set<std::string> pending_tables() const {
    std::set<std::string> out(queue_.begin(), queue_.end());
    if (snapshotter_.active()) out.insert(snapshotter_.table());
    return out;
  }
  bool active() const { return snapshotter_.active(); }
  size_t queued() const { return queue_.size(); }
  uint64_t done() const { return done_; }
  uint64_t abandoned() const { return abandoned_; }

 private:
  void Abandon();

  SqliteDb* db_;
  Logger* logger_;
  Snapshotter snapshotter_;
  std::deque<std::string> queue_;
  std::string active_mark_;  // the mark's value when the running snapshot started
  uint64_t done_ = 0;
  uint64_t abandoned_ = 0;
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_SNAPSHOT_SCHEDULER_H_
