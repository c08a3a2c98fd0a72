// CaptureOptions: everything one capture sidecar (CaptureLoop) is configured with.
#ifndef OWSYNC_CAPTURE_CAPTURE_OPTIONS_H_
#define OWSYNC_CAPTURE_CAPTURE_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "capture/drainer.h"
#include "capture/snapshot_progress.h"
#include "capture/snapshotter.h"
#include "capture/table_filter.h"
#include "capture/verify_scheduler.h"
#include "outbox/outbox_writer.h"
#include "util/result.h"

namespace owsync::capture {

// Opens the tenant's outbox writer with these options (the loop fills in the identity).
using OutboxWriterFactory = std::function<Result<std::unique_ptr<outbox::OutboxWriter>>(
    const outbox::OutboxWriterOptions&)>;
// The highest source_seq among the outbox's last records (0 when none carries one); see
// GenerationGuard. Optional: without it only the ids are compared at start-up.
using OutboxHighWaterFn = std::function<Result<uint64_t>(const outbox::OutboxWriter&)>;
// The capture token of the outbox's last durable record that carries one ("" when none does;
// see GenerationGuard). Optional: without it the loop scans outbox_dir's tail itself
// (ScanOutboxTail) whenever outbox_high_water is set.
using OutboxTokenFn = std::function<Result<std::string>(const outbox::OutboxWriter&)>;

struct CaptureOptions {
  std::string db_path;
  std::string outbox_dir;  // for messages; the factory opens it
  std::string client;      // for messages
  TableFilter filter;
  int64_t poll_micros = 100'000;  // how often an idle capture looks for changes
  int busy_timeout_ms = 5000;
  DrainOptions drain;
  SnapshotOptions snapshot;
  VerifyOptions verify;                        // in-stream verification (interval 0 = off)
  int64_t repair_interval_micros = 1'000'000;  // how often to look for repair requests
  outbox::OutboxWriterOptions writer;
  int64_t retention_interval_micros = 10'000'000;
  int64_t status_interval_micros = 60'000'000;
  int64_t max_backoff_micros = 30'000'000;  // retries after errors back off up to this
  // Lock file that keeps a second capture off the same database ("" = <db_path>-owsync.lock).
  std::string lock_path;

  OutboxWriterFactory open_writer;      // required
  OutboxHighWaterFn outbox_high_water;  // optional
  OutboxTokenFn outbox_token;           // optional (default: see OutboxTokenFn)
  SnapshotProgressFn on_progress;       // optional (a terminal progress line)
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_CAPTURE_OPTIONS_H_
