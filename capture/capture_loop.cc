#include "capture/capture_loop.h"

#include <algorithm>

#include "capture/capture_admin.h"
#include "capture/capture_meta.h"
#include "capture/changelog.h"
#include "capture/drain_token.h"
#include "capture/outbox_high_water.h"
#include "capture/sqlite_txn.h"
#include "outbox/acked_check.h"
#include "outbox/acked_file.h"

namespace owsync::capture {

CaptureLoop::CaptureLoop(FileSystem* fs, Clock* clock, Logger* logger, CaptureOptions options)
    : fs_(fs), clock_(clock), logger_(logger), options_(std::move(options)) {
  if (options_.lock_path.empty()) options_.lock_path = options_.db_path + "-owsync.lock";
  if (options_.poll_micros <= 0) options_.poll_micros = 100'000;
}

CaptureLoop::~CaptureLoop() = default;

CaptureCounters CaptureLoop::counters() const {
  CaptureCounters c = counters_;
  c.snapshots_done = snapshots_done_before_ + (snapshots_ ? snapshots_->done() : 0);
  c.snapshots_abandoned = snapshots_abandoned_before_ + (snapshots_ ? snapshots_->abandoned() : 0);
  return c;
}

Status CaptureLoop::OpenDb() {
  SqliteDbOptions db_options;
  db_options.busy_timeout_ms = options_.busy_timeout_ms;
  OWSYNC_ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::Open(options_.db_path, db_options));
  db_ = std::move(db);
  if (!watcher_) {
    watcher_ = std::make_unique<SchemaWatcher>(&db_, options_.filter, logger_);
  }
  watcher_->Invalidate();
  drainer_ = std::make_unique<Drainer>(&db_, &emitter_, clock_, logger_, options_.drain);
  if (snapshots_) {
    snapshots_done_before_ += snapshots_->done();
    snapshots_abandoned_before_ += snapshots_->abandoned() + (snapshots_->active() ? 1 : 0);
  }
  snapshots_ = std::make_unique<SnapshotScheduler>(&db_, &emitter_, clock_, logger_,
                                                   options_.snapshot, options_.on_progress);
  verify_ = std::make_unique<VerifyScheduler>(&db_, &emitter_, clock_, logger_, options_.verify);
  repairer_ = std::make_unique<Repairer>(fs_, &db_, &emitter_, clock_, logger_, options_.outbox_dir,
                                         options_.repair_interval_micros);
  last_data_version_ = -1;
  force_check_ = true;
  return Status::OK();
}

Status CaptureLoop::EnsureOwnTables() {
  OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginImmediate(&db_));
  Changelog changelog(&db_);
  OWSYNC_RETURN_IF_ERROR(changelog.Create());
  CaptureMeta meta(&db_);
  OWSYNC_RETURN_IF_ERROR(meta.Create());
  return txn.Commit();
}

Result<std::string> CaptureLoop::ReadOutboxToken() {
  if (options_.outbox_token) return options_.outbox_token(*writer_);
  OWSYNC_ASSIGN_OR_RETURN(
      OutboxTail tail, ScanOutboxTail(fs_, options_.outbox_dir, writer_->durable_offset(), 4096));
  return tail.token;
}

Result<int64_t> CaptureLoop::ReadCounter() {
  Changelog changelog(&db_);
  return changelog.Counter();
}

Status CaptureLoop::Start() {
  if (started_) return Status::OK();
  if (!options_.open_writer) return Status::InvalidArgument("capture needs an outbox writer");
  auto lock = fs_->LockFile(options_.lock_path);
  if (!lock.ok()) {
    if (lock.status().code() == StatusCode::kBusy) {
      return Status::FailedPrecondition("another owsync capture is running on " + options_.db_path +
                                        " (lock " + options_.lock_path + ")");
    }
    return lock.status();
  }
  lock_ = std::move(lock).value();
  OWSYNC_RETURN_IF_ERROR(OpenDb());
  OWSYNC_RETURN_IF_ERROR(EnsureOwnTables());
  OWSYNC_RETURN_IF_ERROR(Reconcile());
  Status writer = OpenWriterAndCheck();
  if (!writer.ok()) {
    // A full or failing outbox disk at start-up pauses like one later on (the triggers are in
    // place: changes wait in the changelog). Anything else (another writer holds the outbox,
    // a corrupt outbox) is for the operator.
    if (writer.code() != StatusCode::kNoSpace && writer.code() != StatusCode::kIOError) {
      return writer;
    }
    WriterFailed(writer);
  }
  if (writer_ != nullptr) OWSYNC_RETURN_IF_ERROR(CheckAcked());
  last_acked_check_ = clock_->MonotonicMicros();
  OWSYNC_ASSIGN_OR_RETURN(last_data_version_, db_.DataVersion());
  force_check_ = true;  // the first step drains what waits in the changelog
  started_ = true;
  return Status::OK();
}

// Opens the outbox writer and applies GenerationGuard's rules with the outbox's high water.
Status CaptureLoop::OpenWriterAndCheck() {
  std::optional<std::string> meta_generation, meta_outbox_id, meta_token, meta_prev_token;
  int64_t counter = 0;
  {
    OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginRead(&db_));
    CaptureMeta meta(&db_);
    OWSYNC_ASSIGN_OR_RETURN(meta_generation, meta.Get(CaptureMeta::kGeneration));
    OWSYNC_ASSIGN_OR_RETURN(meta_outbox_id, meta.Get(CaptureMeta::kOutboxId));
    OWSYNC_ASSIGN_OR_RETURN(meta_token, meta.Get(CaptureMeta::kDrainToken));
    OWSYNC_ASSIGN_OR_RETURN(meta_prev_token, meta.Get(CaptureMeta::kPrevDrainToken));
    OWSYNC_ASSIGN_OR_RETURN(counter, ReadCounter());
    OWSYNC_RETURN_IF_ERROR(txn.Commit());
  }
  outbox::OutboxWriterOptions wo = options_.writer;
  wo.outbox_id.clear();
  wo.database_generation = meta_generation.value_or(GenerationGuard::NewId());
  auto writer = options_.open_writer(wo);
  if (!writer.ok() && writer.status().code() == StatusCode::kFailedPrecondition) {
    // The outbox belongs to another generation: open it as it is; the guard decides.
    wo.database_generation.clear();
    writer = options_.open_writer(wo);
  }
  if (!writer.ok()) return writer.status().WithContext("open outbox " + options_.outbox_dir);
  writer_ = std::move(writer).value();
  emitter_.Reset(writer_.get(), counter);

  IdentityFacts facts;
  facts.meta_generation = meta_generation;
  facts.meta_outbox_id = meta_outbox_id;
  facts.outbox_generation = writer_->database_generation();
  facts.outbox_id = writer_->outbox_id();
  facts.outbox_empty = writer_->durable_offset() == 0 && writer_->buffered_bytes() == 0;
  facts.changelog_counter = counter;
  facts.meta_token = meta_token;
  facts.meta_prev_token = meta_prev_token;
  resume_token_.clear();
  if (options_.outbox_high_water && !facts.outbox_empty) {
    auto hw = options_.outbox_high_water(*writer_);
    if (hw.ok()) {
      facts.outbox_high_water = static_cast<int64_t>(*hw);
    } else {
      logger_->Warn("could not read the outbox's last seq ({}); comparing ids only",
                    hw.status().ToString());
    }
    auto token = ReadOutboxToken();
    if (token.ok()) {
      facts.outbox_token = *token;
    } else {
      logger_->Warn("could not read the outbox's last drain token ({}); not comparing tokens",
                    token.status().ToString());
    }
  }
  resume_token_ = facts.outbox_token;
  IdentityDecision decision = GenerationGuard::Decide(facts);
  OWSYNC_RETURN_IF_ERROR(ApplyDecision(decision));
  writer_backoff_ = 0;
  last_writer_error_ = Status::OK();
  return Status::OK();
}

Status CaptureLoop::ApplyDecision(const IdentityDecision& decision) {
  switch (decision.verdict) {
    case IdentityVerdict::kResume: {
      OWSYNC_ASSIGN_OR_RETURN(int64_t counter, ReadCounter());
      emitter_.Reset(writer_.get(), counter);
      emitter_.ResumeTokens(resume_token_);
      generation_ = writer_->database_generation();
      logger_->Info("capturing {} into outbox {} (id {}, generation {}, durable offset {})",
                    options_.db_path, options_.outbox_dir, writer_->outbox_id(), generation_,
                    writer_->durable_offset());
      break;
    }
    case IdentityVerdict::kAdopt:
      if (writer_->database_generation().empty()) {
        return StartNewGeneration("the new outbox carries no database generation");
      }
      logger_->Info("{}: outbox {} (id {}), generation {}; every table is snapshotted",
                    decision.reason, options_.outbox_dir, writer_->outbox_id(),
                    writer_->database_generation());
      OWSYNC_RETURN_IF_ERROR(
          MarkAllAndSetIdentity(writer_->database_generation(), "initial snapshot"));
      break;
    case IdentityVerdict::kNewGeneration:
      return StartNewGeneration(decision.reason);
  }
  OWSYNC_RETURN_IF_ERROR(AnnounceSchemas());
  return snapshots_->Load(watcher_->catalog());
}

Status CaptureLoop::MarkAllAndSetIdentity(const std::string& generation,
                                          const std::string& reason) {
  OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginImmediate(&db_));
  CaptureMeta meta(&db_);
  OWSYNC_RETURN_IF_ERROR(meta.Put(CaptureMeta::kGeneration, generation));
  OWSYNC_RETURN_IF_ERROR(meta.Put(CaptureMeta::kOutboxId, writer_->outbox_id()));
  for (const TableInfo* t : watcher_->catalog().Replicable()) {
    OWSYNC_RETURN_IF_ERROR(meta.MarkSnapshot(t->name, reason));
  }
  // The outbox is empty: a fresh token, no predecessor; the records from now on carry it.
  const std::string token = GenerationGuard::NewId();
  OWSYNC_RETURN_IF_ERROR(DrainToken::Restart(&db_, token));
  OWSYNC_ASSIGN_OR_RETURN(int64_t counter, ReadCounter());
  OWSYNC_RETURN_IF_ERROR(txn.Commit());
  emitter_.Reset(writer_.get(), counter);
  emitter_.BeginBatch(token);
  generation_ = generation;
  snapshots_->Reset();
  return Status::OK();
}

Status CaptureLoop::StartNewGeneration(const std::string& reason, uint64_t min_first_offset) {
  const std::string generation = GenerationGuard::NewId();
  logger_->Warn(
      "starting database generation {}: {}. The outbox moves its segments aside and "
      "every replicated table is snapshotted again",
      generation, reason);
  snapshots_->Reset();
  Status s = writer_->StartNewGeneration(generation, min_first_offset);
  if (!s.ok()) {
    WriterFailed(s.WithContext("start a new outbox generation"));
    return Status::OK();
  }
  OWSYNC_RETURN_IF_ERROR(EnsureOwnTables());
  OWSYNC_RETURN_IF_ERROR(Reconcile());
  OWSYNC_RETURN_IF_ERROR(MarkAllAndSetIdentity(generation, "new database generation"));
  ++counters_.generations_started;
  OWSYNC_RETURN_IF_ERROR(AnnounceSchemas());
  return snapshots_->Load(watcher_->catalog());
}

Status CaptureLoop::CheckAcked() {
  auto acked = outbox::AckedFile::Read(fs_, options_.outbox_dir);
  if (!acked.ok()) {
    if (!acked.status().IsNotFound()) {
      logger_->Warn("outbox {}: reading ACKED: {}", options_.outbox_dir, acked.status().ToString());
    }
    return Status::OK();
  }
  if (acked->outbox_id != writer_->outbox_id()) return Status::OK();
  if (acked->fingerprint.empty() && acked->acked_offset <= writer_->durable_offset()) {
    return Status::OK();
  }
  auto held =
      outbox::AckedCheck::Run(fs_, options_.outbox_dir, acked->acked_offset, acked->fingerprint);
  if (!held.ok()) {
    logger_->Warn("outbox {}: checking ACKED: {}", options_.outbox_dir, held.status().ToString());
    return Status::OK();
  }
  if (held->verdict != outbox::AckedVerdict::kBeyondEnd &&
      held->verdict != outbox::AckedVerdict::kDiffers) {
    return Status::OK();
  }
  // The shipper found PostgreSQL ahead of this outbox: the database and its outbox were put
  // back from an older copy together. Going on would reuse offsets PostgreSQL acknowledged
  // for other records; a new generation above them, with a full snapshot, converges.
  return StartNewGeneration(outbox::AckedCheck::Describe(*held, acked->acked_offset,
                                                         acked->outbox_id, acked->fingerprint) +
                                " (the database and its outbox were restored from an older copy)",
                            acked->acked_offset + 1);
}

Status CaptureLoop::AnnounceSchemas() {
  for (const TableInfo* t : watcher_->catalog().Replicable()) {
    OWSYNC_RETURN_IF_ERROR(emitter_.EnsureSchema(*t));
  }
  return Status::OK();
}

Status CaptureLoop::Reconcile() {
  OWSYNC_ASSIGN_OR_RETURN(ReconcileResult r, watcher_->Reconcile());
  ++counters_.reconciles;
  snapshots_->AbandonIfAny(r.triggers_installed);
  if (writer_ != nullptr && !emitter_.failed()) {
    for (const auto& name : r.columns_changed) {
      const TableInfo* t = watcher_->catalog().FindReplicable(name);
      if (t != nullptr) OWSYNC_RETURN_IF_ERROR(emitter_.EnsureSchema(*t));
    }
  }
  return Status::OK();
}

Status CaptureLoop::CheckIdentity() {
  IdentityFacts facts;
  {
    OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginRead(&db_));
    CaptureMeta meta(&db_);
    OWSYNC_ASSIGN_OR_RETURN(bool have_meta, meta.Exists());
    Changelog changelog(&db_);
    OWSYNC_ASSIGN_OR_RETURN(bool have_changelog, changelog.Exists());
    if (have_meta) {
      OWSYNC_ASSIGN_OR_RETURN(facts.meta_generation, meta.Get(CaptureMeta::kGeneration));
      OWSYNC_ASSIGN_OR_RETURN(facts.meta_outbox_id, meta.Get(CaptureMeta::kOutboxId));
      OWSYNC_ASSIGN_OR_RETURN(facts.meta_token, meta.Get(CaptureMeta::kDrainToken));
      OWSYNC_ASSIGN_OR_RETURN(facts.meta_prev_token, meta.Get(CaptureMeta::kPrevDrainToken));
    }
    if (have_changelog) {
      OWSYNC_ASSIGN_OR_RETURN(facts.changelog_counter, changelog.Counter());
    } else {
      facts.meta_generation.reset();  // the changelog is gone: changes were missed
    }
    OWSYNC_RETURN_IF_ERROR(txn.Commit());
  }
  facts.outbox_generation = writer_->database_generation();
  facts.outbox_id = writer_->outbox_id();
  facts.outbox_empty = false;
  facts.outbox_high_water = emitter_.high_water();
  // The token the capture last rotated to (or resumed with): a database replaced meanwhile
  // carries another one.
  facts.outbox_token = emitter_.token();
  IdentityDecision decision = GenerationGuard::Decide(facts);
  if (decision.verdict == IdentityVerdict::kResume) return Status::OK();
  if (decision.verdict == IdentityVerdict::kAdopt) {
    decision.reason = "owsync's tables vanished from the database";
  }
  return StartNewGeneration(decision.reason);
}

Status CaptureLoop::RequestSnapshot(const std::string& table) {
  if (!started_) return Status::FailedPrecondition("capture not started");
  OWSYNC_RETURN_IF_ERROR(CaptureAdmin::MarkSnapshots(&db_, watcher_->catalog(), table));
  return snapshots_->Load(watcher_->catalog());
}

Status CaptureLoop::DoWork() {
  OWSYNC_ASSIGN_OR_RETURN(bool moved, db_.HasMoved());
  if (moved) {
    logger_->Warn("the database file {} was replaced (restored?); reopening it", options_.db_path);
    ++counters_.db_reopens;
    OWSYNC_RETURN_IF_ERROR(OpenDb());
  }
  OWSYNC_ASSIGN_OR_RETURN(int64_t data_version, db_.DataVersion());
  const bool changed = force_check_ || data_version != last_data_version_;
  last_data_version_ = data_version;
  if (changed) {
    force_check_ = false;
    OWSYNC_ASSIGN_OR_RETURN(bool schema_moved, watcher_->Changed());
    if (schema_moved) OWSYNC_RETURN_IF_ERROR(Reconcile());
    OWSYNC_RETURN_IF_ERROR(CheckIdentity());
    if (writer_ == nullptr) return Status::OK();
    OWSYNC_RETURN_IF_ERROR(snapshots_->Load(watcher_->catalog()));
  }
  const bool work = changed || drain_more_ || drainer_->delete_pending() || snapshots_->busy();
  if (!work) return RepairAndVerify();

  OWSYNC_ASSIGN_OR_RETURN(DrainResult drained, drainer_->DrainOnce(watcher_->catalog()));
  if (drained.schema_changed) {
    force_check_ = true;
    return Status::OK();
  }
  drain_more_ = drained.more;
  counters_.entries_drained += drained.entries;
  counters_.upserts += drained.upserts;
  counters_.deletes += drained.deletes;
  counters_.unreplicated += drained.unreplicated;
  if (drained.entries > 0) {
    logger_->Debug("drained {} changes up to seq {}: {} upserts, {} deletes, {} bytes",
                   drained.entries, drained.last_seq, drained.upserts, drained.deletes,
                   drained.row_bytes);
  }
  OWSYNC_RETURN_IF_ERROR(snapshots_->Step(watcher_->catalog(), &force_check_));
  return RepairAndVerify();
}

Status CaptureLoop::RepairAndVerify() {
  if (writer_ == nullptr || force_check_) return Status::OK();
  OWSYNC_ASSIGN_OR_RETURN(uint64_t repaired,
                          repairer_->Step(watcher_->catalog(), writer_->outbox_id()));
  counters_.rows_repaired += repaired;
  if (drain_more_ || drainer_->delete_pending() || !verify_->Due()) return Status::OK();
  OWSYNC_ASSIGN_OR_RETURN(bool verified,
                          verify_->Step(watcher_->catalog(), snapshots_->pending_tables()));
  if (verified) ++counters_.verify_ranges;
  return Status::OK();
}

Result<bool> CaptureLoop::Step() {
  if (!started_) return Status::FailedPrecondition("capture not started");
  ++counters_.steps;
  if (writer_ == nullptr) {
    if (clock_->MonotonicMicros() < writer_retry_at_) return false;
    Status s = OpenWriterAndCheck();
    if (!s.ok()) {
      WriterFailed(s);
      return false;
    }
    if (writer_ == nullptr) return false;
    logger_->Info("outbox {} is writable again; draining resumes", options_.outbox_dir);
  }
  Status s = DoWork();
  if (!s.ok() && emitter_.failed()) {
    WriterFailed(s);
    return false;
  }
  OWSYNC_RETURN_IF_ERROR(s);
  const int64_t now = clock_->MonotonicMicros();
  if (writer_ != nullptr && now - last_acked_check_ >= options_.retention_interval_micros) {
    last_acked_check_ = now;
    OWSYNC_RETURN_IF_ERROR(CheckAcked());
  }
  Periodic();
  if (writer_ == nullptr) return false;
  return force_check_ || drain_more_ || drainer_->delete_pending() || snapshots_->busy();
}

void CaptureLoop::WriterFailed(const Status& status) {
  ++counters_.writer_failures;
  last_writer_error_ = status;
  writer_backoff_ =
      std::clamp<int64_t>(writer_backoff_ * 2, options_.poll_micros, options_.max_backoff_micros);
  writer_retry_at_ = clock_->MonotonicMicros() + writer_backoff_;
  logger_->Error(
      "outbox {}: {}; draining paused (the application is unaffected, changes wait "
      "in the changelog); retrying in {:.1f} s",
      options_.outbox_dir, status.ToString(), writer_backoff_ / 1e6);
  snapshots_->Reset();
  drain_more_ = false;
  emitter_.Reset(nullptr, emitter_.high_water());
  writer_.reset();
  force_check_ = true;
}

void CaptureLoop::Periodic() {
  const int64_t now = clock_->MonotonicMicros();
  if (writer_ != nullptr && now - last_retention_ >= options_.retention_interval_micros) {
    last_retention_ = now;
    auto freed = writer_->ApplyRetention();
    if (!freed.ok()) {
      logger_->Warn("outbox retention: {}", freed.status().ToString());
    } else if (*freed > 0) {
      logger_->Info("outbox retention freed {} bytes", *freed);
    }
  }
  if (now - last_status_ >= options_.status_interval_micros) {
    last_status_ = now;
    Changelog changelog(&db_);
    auto stats = changelog.QuickStats();
    if (!stats.ok()) return;
    const int64_t age =
        stats->oldest_ts > 0 ? clock_->NowMicros() / 1'000'000 - stats->oldest_ts : 0;
    uint64_t disk = 0;
    if (writer_ != nullptr) {
      auto usage = writer_->DiskUsage();
      if (usage.ok()) disk = *usage;
    }
    const std::string backlog =
        stats->rows == 0 ? std::string("changelog empty")
                         : fmt::format(
                               "changelog: up to {} entries pending (seq {}..{}), oldest "
                               "{} s",
                               stats->rows, stats->min_seq, stats->max_seq, age);
    const std::string line = fmt::format("{}; outbox durable offset {}, {} bytes on disk", backlog,
                                         writer_ ? writer_->durable_offset() : 0, disk);
    if (age > 300) {
      logger_->Warn("{} (the changelog is not draining)", line);
    } else {
      logger_->Info("{}", line);
    }
  }
}

void CaptureLoop::SleepUnlessStopped(int64_t micros) {
  constexpr int64_t kSlice = 100'000;
  while (micros > 0 && !stop_.load()) {
    const int64_t d = std::min(micros, kSlice);
    clock_->SleepForMicros(d);
    micros -= d;
  }
}

Status CaptureLoop::RunUntilCaughtUp() {
  OWSYNC_RETURN_IF_ERROR(Start());
  int busy_retries = 0;
  while (!stop_.load()) {
    auto more = Step();
    if (!more.ok()) {
      if (more.status().retryable() && busy_retries++ < 50) {
        SleepUnlessStopped(options_.poll_micros);
        continue;
      }
      return more.status();
    }
    if (writer_ == nullptr) return last_writer_error_;
    if (!*more) break;
  }
  if (writer_ != nullptr) OWSYNC_RETURN_IF_ERROR(emitter_.Commit());
  return Status::OK();
}

Status CaptureLoop::Run() {
  OWSYNC_RETURN_IF_ERROR(Start());
  int64_t backoff = options_.poll_micros;
  std::string last_error;
  while (!stop_.load()) {
    auto more = Step();
    if (!more.ok()) {
      const Status& s = more.status();
      if (!s.retryable()) {
        logger_->Error("capture stops: {}", s.ToString());
        return s;
      }
      if (s.ToString() != last_error) logger_->Warn("{}; retrying", s.ToString());
      last_error = s.ToString();
      SleepUnlessStopped(backoff);
      backoff = std::min(backoff * 2, options_.max_backoff_micros);
      continue;
    }
    last_error.clear();
    backoff = options_.poll_micros;
    if (!*more) SleepUnlessStopped(options_.poll_micros);
  }
  if (writer_ != nullptr) {
    Status s = emitter_.Commit();
    if (!s.ok()) logger_->Warn("final outbox commit: {}", s.ToString());
  }
  logger_->Info("capture stopped: {} changes drained, {} snapshots", counters_.entries_drained,
                counters().snapshots_done);
  return Status::OK();
}

}  // namespace owsync::capture
