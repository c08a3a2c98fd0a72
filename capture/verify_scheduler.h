// VerifyScheduler: capture's half of in-stream verification (docs/divergence.md). It walks every
// replicated table in key order, a chunk at a time, and appends for each chunk a verify record
// (outbox/verify_range.h): the chunk's key range and each row's RowDigest, read in the same
// short BEGIN IMMEDIATE transaction that rotates the drain token, while the changelog is empty
// (every change committed before the read is already in the outbox before the record, every
// later one after it). The shipper compares PostgreSQL with it once it applied everything
// before the record, and asks for drifted rows again (capture/repairer.h).
//
// Schedule: a pass over all tables starts every `interval_micros` (24 h by default, so every
// tenant is covered at least once a day) and reads at most `rows_per_second` rows (a token
// bucket; chunks of `chunk_rows` rows or `chunk_bytes` of row data). Tables that owe a snapshot
// are skipped for the pass (the snapshot carries them anew). Where the pass stands lives in
// _owsync_meta ("verify:pass_started", "verify:cursor"), so restarts go on where they stopped.
// A table whose keys PostgreSQL cannot order as SQLite does (a collation other than BINARY,
// a key without a numeric or text type) gets keys-only ranges.
#ifndef OWSYNC_CAPTURE_VERIFY_SCHEDULER_H_
#define OWSYNC_CAPTURE_VERIFY_SCHEDULER_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "capture/catalog.h"
#include "capture/record_emitter.h"
#include "capture/sqlite_db.h"
#include "util/clock.h"
#include "util/logger.h"
#include "util/result.h"

namespace owsync::capture {

struct VerifyOptions {
  int64_t interval_micros = 24LL * 3600 * 1'000'000;  // a pass starts this often; 0 = off
  double rows_per_second = 100;                       // read budget
  size_t chunk_rows = 200;
  uint64_t chunk_bytes = 4ull << 20;  // row data per chunk (soft: one row may exceed it)
};

class VerifyScheduler {
 public:
  VerifyScheduler(SqliteDb* db, RecordEmitter* emitter, Clock* clock, Logger* logger,
                  VerifyOptions options);

  // Appends the next verify record if one is due and the budget allows, and commits the
  // outbox (true); false when nothing was due, or the changelog was not empty (drain first).
  // `snapshots` are the tables that owe or run a snapshot. Errors from the database (Busy:
  // retry) or the outbox (the emitter is then failed).
  Result<bool> Step(const Catalog& catalog, const std::set<std::string>& snapshots);
  // Whether Step could do something now (cheap: no database access).
  bool Due() const;
  // Forgets the cached state (a new connection or database file): read again from the meta.
  void Reset() { loaded_ = false; }

  uint64_t ranges_emitted() const { return ranges_emitted_; }
  uint64_t rows_read() const { return rows_read_; }

 private:
  struct Cursor {
    std::string table;                 // "" = the pass is over
    std::vector<outbox::Value> after;  // the last key verified in that table (empty = none)
  };
  [[nodiscard]] Status Load();
  void Refill();
  // The table to verify now (advancing the cursor past tables gone or owing snapshots), or
  // nullptr at the end of the pass.
  const TableInfo* CurrentTable(const Catalog& catalog, const std::set<std::string>& snapshots);
  // One chunk of `t` after the cursor (see the file comment).
  Result<bool> VerifyChunk(const Catalog& catalog, const TableInfo& t);
  static std::string EncodeCursor(const Cursor& c);
  static Result<Cursor> DecodeCursor(const std::string& text);

  SqliteDb* db_;
  RecordEmitter* emitter_;
  Clock* clock_;
  Logger* logger_;
  VerifyOptions options_;
  bool loaded_ = false;
  int64_t pass_started_ = 0;  // unix micros; 0 = no pass yet
  bool pass_active_ = false;
  Cursor cursor_;
  double tokens_ = 0;
  int64_t refilled_at_ = 0;  // monotonic micros
  uint64_t pass_rows_ = 0;
  uint64_t ranges_emitted_ = 0;
  uint64_t rows_read_ = 0;
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_VERIFY_SCHEDULER_H_
