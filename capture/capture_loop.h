// CaptureLoop: the capture sidecar for one tenant database and its outbox. Usable in-process
// (tests drive Start/Step, or Run on a thread and RequestStop) and as `owsync capture`.
//
// Start(): takes the capture lock beside the database (one capture per database), creates
// owsync's tables, opens the outbox (through the factory), checks that database and outbox
// belong together (GenerationGuard; otherwise a new generation and a full snapshot) and that
// PostgreSQL is not ahead of the outbox (ACKED: else a new generation above what it holds),
// installs the triggers (SchemaWatcher) and queues the snapshots owed.
// Step(): one wakeup. Reopens the database if its file was replaced; when PRAGMA data_version
// moved (another connection committed) it checks the schema (re-installing triggers, queuing
// re-snapshots), the identity and the owed snapshots; then drains one batch and reads one
// snapshot chunk, sends rows the shipper found drifted again (Repairer) and, when the
// changelog is drained, appends a verify record if one is due (VerifyScheduler). Returns
// whether more work is waiting.
// Run(): Step until RequestStop(), sleeping poll_micros (Clock) whenever idle: an idle capture
// costs one PRAGMA per poll. Stopping finishes the current step and commits the outbox.
//
// Errors: a failing outbox (full disk, I/O error) pauses draining — the changes wait in the
// changelog, the application is unaffected — and the writer is reopened after a backoff.
// Busy databases are retried after a backoff. Other errors end Run() with the status.
#ifndef OWSYNC_CAPTURE_CAPTURE_LOOP_H_
#define OWSYNC_CAPTURE_CAPTURE_LOOP_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "capture/capture_options.h"
#include "capture/catalog.h"
#include "capture/drainer.h"
#include "capture/generation_guard.h"
#include "capture/record_emitter.h"
#include "capture/repairer.h"
#include "capture/schema_watcher.h"
#include "capture/snapshot_scheduler.h"
#include "capture/sqlite_db.h"
#include "capture/verify_scheduler.h"
#include "outbox/outbox_writer.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/logger.h"
#include "util/result.h"
#include "util/status.h"

namespace owsync::capture {

struct CaptureCounters {
  uint64_t steps = 0;
  uint64_t entries_drained = 0;
  uint64_t upserts = 0;
  uint64_t deletes = 0;
  uint64_t unreplicated = 0;
  uint64_t snapshots_done = 0;
  uint64_t snapshots_abandoned = 0;
  uint64_t generations_started = 0;
  uint64_t writer_failures = 0;
  uint64_t reconciles = 0;
  uint64_t db_reopens = 0;
  uint64_t verify_ranges = 0;  // verify records appended (in-stream verification)
  uint64_t rows_repaired = 0;  // records sent again for repair requests
};

class CaptureLoop {
 public:
  CaptureLoop(FileSystem* fs, Clock* clock, Logger* logger, CaptureOptions options);
  ~CaptureLoop();
  CaptureLoop(const CaptureLoop&) = delete;
  CaptureLoop& operator=(const CaptureLoop&) = delete;

  [[nodiscard]] Status Start();
  Result<bool> Step();
  // --once: steps until the changelog is drained and every owed snapshot is done. Fails if
  // the outbox cannot be written.
  [[nodiscard]] Status RunUntilCaughtUp();
  [[nodiscard]] Status Run();
  void RequestStop() { stop_.store(true); }
  bool stop_requested() const { return stop_.load(); }

  // Owes a snapshot of `table` ("" = every replicated table); taken up by the next steps.
  [[nodiscard]] Status RequestSnapshot(const std::string& table);

  const Catalog& catalog() const { return watcher_->catalog(); }
  CaptureCounters counters() const;
  const std::string& generation() const { return generation_; }
  outbox::OutboxWriter* writer() const { return writer_.get(); }
  bool writer_ok() const { return writer_ != nullptr; }
  const Status& last_writer_error() const { return last_writer_error_; }
  bool snapshot_active() const { return snapshots_ && snapshots_->active(); }
  size_t snapshots_queued() const { return snapshots_ ? snapshots_->queued() : 0; }

 private:
  [[nodiscard]] Status OpenDb();
  [[nodiscard]] Status EnsureOwnTables();
  [[nodiscard]] Status OpenWriterAndCheck();
  [[nodiscard]] Status Reconcile();
  [[nodiscard]] Status CheckIdentity();
  [[nodiscard]] Status ApplyDecision(const IdentityDecision& decision);
  [[nodiscard]] Status StartNewGeneration(const std::string& reason, uint64_t min_first_offset = 0);
  // Compares ACKED (PostgreSQL's acknowledged offset and record fingerprint, written by the
  // shipper) with the outbox; a new generation above it when PostgreSQL is ahead.
  [[nodiscard]] Status CheckAcked();
  [[nodiscard]] Status MarkAllAndSetIdentity(const std::string& generation,
                                             const std::string& reason);
  [[nodiscard]] Status AnnounceSchemas();
  [[nodiscard]] Status DoWork();
  // Sends rows the shipper asked for again, then appends the next verify record when one is
  // due (and the changelog is drained).
  [[nodiscard]] Status RepairAndVerify();
  void WriterFailed(const Status& status);
  void Periodic();
  void SleepUnlessStopped(int64_t micros);
  Result<int64_t> ReadCounter();
  // The drain token of the outbox's last durable record ("" when none carries one).
  Result<std::string> ReadOutboxToken();

  FileSystem* fs_;
  Clock* clock_;
  Logger* logger_;
  CaptureOptions options_;

  std::unique_ptr<FileLock> lock_;
  SqliteDb db_;
  std::unique_ptr<SchemaWatcher> watcher_;
  std::unique_ptr<outbox::OutboxWriter> writer_;
  RecordEmitter emitter_{nullptr};
  std::unique_ptr<Drainer> drainer_;
  std::unique_ptr<SnapshotScheduler> snapshots_;
  std::unique_ptr<VerifyScheduler> verify_;
  std::unique_ptr<Repairer> repairer_;
  std::string generation_;
  std::string resume_token_;  // the outbox tail's token, for a resume decided at open

  uint64_t snapshots_done_before_ = 0;  // by schedulers of earlier connections
  uint64_t snapshots_abandoned_before_ = 0;
  bool started_ = false;
  bool force_check_ = true;
  bool drain_more_ = false;
  int64_t last_data_version_ = -1;
  int64_t writer_retry_at_ = 0;
  int64_t writer_backoff_ = 0;
  Status last_writer_error_;
  int64_t last_retention_ = 0;
  int64_t last_acked_check_ = 0;
  int64_t last_status_ = 0;
  CaptureCounters counters_;
  std::atomic<bool> stop_{false};
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_CAPTURE_LOOP_H_
