// Drainer: moves changes from the changelog into the outbox, one bounded batch per call:
//   1. a short BEGIN IMMEDIATE transaction: check the schema is the one the catalog was read at;
//   read up
//      to max_changes entries in seq order; coalesce them per (table, key); read each key's
//      current row image in the same transaction (consistent images); a key whose row is gone
//      becomes a kDelete. Keys are taken in the order of their first entry and the batch is
//      cut once max_bytes of row data were read (at least one key is always taken, so a
//      64 MiB row drains too). Records are appended to the outbox as they are read. When the
//      batch is not empty the transaction first rotates the drain token (DrainToken; the
//      records carry the new one), after committing the outbox if records of the previous
//      token are still buffered. A failure before the database commit aborts the batch
//      (RecordEmitter::AbortBatch: its records never become durable).
//   2. RecordEmitter::Commit(): the records are durable (fsync) before anything is deleted.
//   3. a short BEGIN IMMEDIATE transaction deletes the drained entries (seq below the cut)
//      and records the drained seq in _owsync_meta.
// A crash between 2 and 3 drains the same entries again: the records repeat with then-current
// full images, which is harmless (the shipper keeps the newest offset per key); capture never
// skips entries on the strength of seq numbers. A busy database at step 3 leaves the delete
// pending: it is retried first by the next call, which drains nothing new until it succeeded.
//
// Entries of a table that is not (or no longer) replicated are consumed and counted, with a
// warning; the table's status says why it is not replicated.
#ifndef OWSYNC_CAPTURE_DRAINER_H_
#define OWSYNC_CAPTURE_DRAINER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "capture/catalog.h"
#include "capture/changelog.h"
#include "capture/key_emitter.h"
#include "capture/record_emitter.h"
#include "capture/sqlite_db.h"
#include "util/clock.h"
#include "util/logger.h"
#include "util/result.h"

namespace owsync::capture {

struct DrainOptions {
  size_t max_changes = 10000;        // changelog entries per batch
  uint64_t max_bytes = 16ull << 20;  // row-image bytes per batch (soft: one row may exceed it)
};

struct DrainResult {
  bool schema_changed = false;  // nothing done: the catalog is stale, reconcile first
  bool delete_pending = false;  // the drained entries could not be deleted yet (busy)
  size_t entries = 0;           // changelog entries consumed
  size_t upserts = 0;
  size_t deletes = 0;
  size_t unreplicated = 0;  // entries of tables that are not replicated
  uint64_t row_bytes = 0;
  int64_t last_seq = 0;  // highest seq consumed
  bool more = false;     // the batch was cut: call again
};

class Drainer {
 public:
  Drainer(SqliteDb* db, RecordEmitter* emitter, Clock* clock, Logger* logger, DrainOptions options);

  Result<DrainResult> DrainOnce(const Catalog& catalog);
  bool delete_pending() const { return pending_delete_bound_ > 0; }
  // Forgets prepared statements (after the connection or the schema changed).
  void Invalidate();

 private:
  struct Group;
  // Appends the record(s) for one coalesced key; returns the row bytes read.
  Result<uint64_t> EmitKey(const TableInfo& t, const Group& g, DrainResult* result);
  // Coalesces `entries` and appends their records (inside the read transaction); lowers
  // *bound when the batch is cut by max_bytes.
  [[nodiscard]] Status EmitBatch(const Catalog& catalog, std::vector<ChangeEntry>* entries,
                                 std::map<std::string, const TableInfo*>* tables,
                                 std::map<std::string, size_t>* unreplicated, int64_t* bound,
                                 DrainResult* result);
  // Deletes entries below `bound` and notes the drained seq; Busy leaves it pending.
  [[nodiscard]] Status DeleteDrained(int64_t bound);

  SqliteDb* db_;
  RecordEmitter* emitter_;
  Clock* clock_;
  Logger* logger_;
  DrainOptions options_;
  Changelog changelog_;
  int64_t statements_schema_version_ = -1;
  KeyEmitter keys_;
  int64_t pending_delete_bound_ = 0;
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_DRAINER_H_
