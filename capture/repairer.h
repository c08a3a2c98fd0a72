// Repairer: capture's half of repairing drift (docs/divergence.md). The shipper, when a verify
// record found PostgreSQL different from SQLite over some rows, writes a repair request into the
// outbox directory (outbox/repair_request.h); the Repairer sends those rows again: per request,
// in one short BEGIN IMMEDIATE transaction that first rotates the drain token, each key's
// current image (or a delete when the row is gone, KeyEmitter), then commits the outbox and
// only then deletes the request (a crash in between sends them twice: harmless). Requests for
// another outbox (an old generation) or a table not replicated any more are dropped with a
// log line. Looks for requests at most every `interval_micros`.
#ifndef OWSYNC_CAPTURE_REPAIRER_H_
#define OWSYNC_CAPTURE_REPAIRER_H_

#include <cstdint>
#include <string>

#include "capture/catalog.h"
#include "capture/key_emitter.h"
#include "capture/record_emitter.h"
#include "capture/sqlite_db.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/logger.h"
#include "util/result.h"

namespace owsync::capture {

class Repairer {
 public:
  Repairer(FileSystem* fs, SqliteDb* db, RecordEmitter* emitter, Clock* clock, Logger* logger,
           std::string outbox_dir, int64_t interval_micros = 1'000'000)
      : fs_(fs),
        db_(db),
        emitter_(emitter),
        clock_(clock),
        logger_(logger),
        outbox_dir_(std::move(outbox_dir)),
        interval_micros_(interval_micros),
        keys_(db, emitter) {}

  // Handles the waiting requests (when it is time to look); returns the rows sent again.
  // Errors from the database (the request stays for the next look) or the outbox.
  Result<uint64_t> Step(const Catalog& catalog, const std::string& outbox_id);
  void Invalidate() { keys_.Invalidate(); }
  uint64_t rows_repaired() const { return rows_repaired_; }

 private:
  FileSystem* fs_;
  SqliteDb* db_;
  RecordEmitter* emitter_;
  Clock* clock_;
  Logger* logger_;
  std::string outbox_dir_;
  int64_t interval_micros_;
  int64_t last_look_ = -1;
  KeyEmitter keys_;
  uint64_t rows_repaired_ = 0;
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_REPAIRER_H_
