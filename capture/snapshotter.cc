#include "capture/snapshotter.h"

#include "capture/drain_token.h"
#include "capture/sql_quote.h"
#include "capture/sqlite_txn.h"
#include "capture/table_queries.h"

namespace owsync::capture {
namespace {

bool SameKey(const TableInfo& a, const TableInfo& b) {
  return a.KeyNames() == b.KeyNames() && a.key_nullable == b.key_nullable;
}

}  // namespace

Snapshotter::Snapshotter(SqliteDb* db, RecordEmitter* emitter, Clock* clock, Logger* logger,
                         SnapshotOptions options, SnapshotProgressFn on_progress)
    : db_(db),
      emitter_(emitter),
      clock_(clock),
      logger_(logger),
      options_(options),
      on_progress_(std::move(on_progress)),
      changelog_(db) {
  if (options_.chunk_rows == 0) options_.chunk_rows = 1;
}

const std::string& Snapshotter::table() const {
  static const std::string kNone;
  return job_ ? job_->info.name : kNone;
}

Status Snapshotter::Start(const TableInfo& table) {
  Job job;
  job.info = table;
  job.null_pass_done = !table.key_nullable;
  job.started_micros = clock_->MonotonicMicros();
  job.last_log_micros = job.started_micros;
  job.progress.table = table.name;
  {
    // Row count for the ETA: a count over the smallest index, in its own short transaction.
    OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginRead(db_));
    OWSYNC_ASSIGN_OR_RETURN(job.progress.total_rows,
                            db_->QueryInt64("SELECT count(*) FROM " + QuoteIdentifier(table.name)));
    OWSYNC_ASSIGN_OR_RETURN(int64_t counter, changelog_.Counter());
    emitter_->NoteSeq(counter);
    OWSYNC_RETURN_IF_ERROR(txn.Commit());
  }
  OWSYNC_ASSIGN_OR_RETURN(job.begin_offset, emitter_->AppendSnapshotBegin(table));
  logger_->Debug("snapshot of \"{}\" started: ~{} rows, key ({}) from {}", table.name,
                 job.progress.total_rows, QuoteIdentifierList(table.KeyNames()), table.key_source);
  job_ = std::move(job);
  return Status::OK();
}

void Snapshotter::Abandon() {
  if (job_) {
    logger_->Info("snapshot of \"{}\" abandoned after {} rows; it will begin again",
                  job_->info.name, job_->progress.rows);
  }
  job_.reset();
}

Result<bool> Snapshotter::ReadChunk(Job* job) {
  const TableInfo& t = job->info;
  const size_t ncols = t.columns.size();
  const size_t nkeys = t.key_columns.size();
  uint64_t chunk_bytes = 0;
  size_t chunk_rows = 0;
  bool stopped_early = false;

  SqliteStmt stmt;
  const bool null_pass = !job->null_pass_done;
  if (null_pass) {
    OWSYNC_ASSIGN_OR_RETURN(stmt, db_->Prepare(TableQueries::SelectNullKeyChunk(t)));
    OWSYNC_RETURN_IF_ERROR(stmt.BindInt64(1, job->null_pass_rowid));
    OWSYNC_RETURN_IF_ERROR(stmt.BindInt64(2, static_cast<int64_t>(options_.chunk_rows)));
  } else if (!job->has_cursor) {
    OWSYNC_ASSIGN_OR_RETURN(stmt, db_->Prepare(TableQueries::SelectFirstChunk(t)));
    OWSYNC_RETURN_IF_ERROR(stmt.BindInt64(1, static_cast<int64_t>(options_.chunk_rows)));
  } else {
    OWSYNC_ASSIGN_OR_RETURN(stmt, db_->Prepare(TableQueries::SelectNextChunk(t)));
    for (size_t i = 0; i < nkeys; ++i) {
      OWSYNC_RETURN_IF_ERROR(stmt.Bind(static_cast<int>(i + 1), job->cursor[i]));
    }
    OWSYNC_RETURN_IF_ERROR(
        stmt.BindInt64(static_cast<int>(nkeys + 1), static_cast<int64_t>(options_.chunk_rows)));
  }
  const int first = null_pass ? 1 : 0;
  while (true) {
    if (chunk_rows > 0 && chunk_bytes >= options_.chunk_bytes) {
      stopped_early = true;
      break;
    }
    OWSYNC_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    outbox::Record r;
    r.type = outbox::RecordType::kUpsert;
    r.source_seq = 0;
    chunk_bytes += TableQueries::ReadRow(stmt, first, ncols, &r.row);
    r.key = TableQueries::KeyOf(t, r.row);
    if (null_pass) {
      job->null_pass_rowid = stmt.ColumnInt64(0);
    } else {
      job->cursor = r.key;
      job->has_cursor = true;
    }
    OWSYNC_RETURN_IF_ERROR(emitter_->AppendData(t, &r).status());
    ++chunk_rows;
  }
  job->progress.rows += chunk_rows;
  job->progress.bytes += chunk_bytes;
  const bool exhausted = !stopped_early && chunk_rows < options_.chunk_rows;
  if (null_pass) {
    if (exhausted) job->null_pass_done = true;
    return false;
  }
  return exhausted;
}

Result<SnapshotStep> Snapshotter::Step(const Catalog& catalog) {
  if (!job_) return Status::Internal("snapshot step without a snapshot");
  Job* job = &*job_;
  const TableInfo* now = catalog.FindReplicable(job->info.name);
  if (now == nullptr || !SameKey(*now, job->info)) {
    logger_->Warn("snapshot of \"{}\": the table {} while it was copied", job->info.name,
                  now == nullptr ? "is gone or no longer replicable" : "changed its key");
    Abandon();
    return SnapshotStep::kRestart;
  }
  if (now->columns != job->info.columns) job->info = *now;  // rows from now on carry them

  bool finished = false;
  {
    // The chunk is read under a freshly rotated drain token (DrainToken), like a drain batch.
    OWSYNC_RETURN_IF_ERROR(DrainToken::Settle(emitter_));
    OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginImmediate(db_));
    OWSYNC_ASSIGN_OR_RETURN(int64_t schema_version, db_->SchemaVersion());
    if (schema_version != catalog.schema_version) return SnapshotStep::kSchemaChanged;
    OWSYNC_ASSIGN_OR_RETURN(int64_t counter, changelog_.Counter());
    emitter_->NoteSeq(counter);
    OWSYNC_RETURN_IF_ERROR(DrainToken::Rotate(db_, emitter_));
    auto chunk = ReadChunk(job);
    Status s = chunk.status();
    if (s.ok()) s = txn.Commit();
    if (!s.ok()) {
      emitter_->AbortBatch();
      return s;
    }
    finished = *chunk;
  }
  if (!finished) {
    if (emitter_->buffered_bytes() >= options_.commit_bytes) {
      OWSYNC_RETURN_IF_ERROR(emitter_->Commit());
    }
    Report(job, false);
    return SnapshotStep::kMore;
  }
  OWSYNC_RETURN_IF_ERROR(emitter_->AppendSnapshotEnd(job->info.name, job->begin_offset).status());
  OWSYNC_RETURN_IF_ERROR(emitter_->Commit());
  job->progress.done = true;
  Report(job, true);
  job_.reset();
  return SnapshotStep::kDone;
}

void Snapshotter::Report(Job* job, bool force_log) {
  const int64_t now = clock_->MonotonicMicros();
  SnapshotProgress& p = job->progress;
  p.elapsed_micros = now - job->started_micros;
  p.eta_micros = -1;
  if (p.done) {
    p.eta_micros = 0;
  } else if (p.rows > 0 && p.total_rows > static_cast<int64_t>(p.rows)) {
    p.eta_micros = static_cast<int64_t>(static_cast<double>(p.elapsed_micros) *
                                        static_cast<double>(p.total_rows - p.rows) /
                                        static_cast<double>(p.rows));
  }
  if (on_progress_) on_progress_(p);
  if (force_log || now - job->last_log_micros >= options_.log_interval_micros) {
    job->last_log_micros = now;
    if (p.done) {
      logger_->Info("snapshot of \"{}\" done: {} rows, {} bytes in {:.1f} s", p.table, p.rows,
                    p.bytes, static_cast<double>(p.elapsed_micros) / 1e6);
    } else {
      logger_->Info(
          "snapshot of \"{}\": {} of ~{} rows, {} bytes, ETA {}", p.table, p.rows, p.total_rows,
          p.bytes,
          p.eta_micros < 0 ? std::string("unknown") : fmt::format("{:.0f} s", p.eta_micros / 1e6));
    }
  }
}

}  // namespace owsync::capture
