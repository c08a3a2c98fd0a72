// Verifier: `owsync verify` — compares a tenant's SQLite database with its copy in PostgreSQL
// ("<client>"."<table>") row by row, tombstoned target rows excluded.
//
// Method: the SQLite database is opened read-only and read in one read transaction (one
// consistent snapshot; in journal_mode=DELETE it holds back the application's commits while it
// runs, so run it on a quiet tenant). Per replicated table, inside one PostgreSQL transaction
// (rolled back at the end: verify changes nothing), the SQLite rows are streamed with COPY into
// a TEMPORARY table whose columns have the target's types (the same CopyEncoder rules as the
// shipper; columns the target lacks are compared with its `_owsync_extra` as jsonb), then two
// EXCEPT ALL queries find the rows that differ either way. Memory stays bounded by one row plus
// a 1 MiB COPY buffer. Comparison is exact: double precision columns compare by their shortest
// exact text (so -0 differs from 0, NaN equals NaN), jsonb compares semantically (key order and
// spacing do not matter: that is how PostgreSQL stores it), text byte for byte.
//
// A row whose value does not fit its column is not loaded; it must be in
// sync_metadata.dead_letters (same client, table and record key, not retried). A differing,
// missing or extra row whose record key (shipper/record_key.h) has such a dead letter or a
// pending conflict (conflict_log, resolved_at IS NULL) is listed as such instead of as a
// difference, except a row alive in SQLite whose PostgreSQL copy is tombstoned. Works with the
// runtime role (TEMPORARY privilege, SELECT on the tenant schema).
#ifndef OWSYNC_CLI_VERIFIER_H_
#define OWSYNC_CLI_VERIFIER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "util/clock.h"
#include "util/file_system.h"
#include "util/logger.h"
#include "util/result.h"

namespace owsync::cli {

struct VerifyOptions {
  std::string db_path;
  std::string client;
  std::string url;          // runtime role's URL (may carry a password: not from argv)
  std::string outbox_dir;   // "" = do not check that PostgreSQL caught up with the outbox
  int64_t wait_micros = 0;  // how long to wait for PostgreSQL to catch up (0 = check once)
  size_t max_report = 20;   // rows listed per table, for differences and for tolerated rows
  int64_t statement_timeout_micros = 3600'000'000;  // deadline of each PostgreSQL call
};

// One reported row. kind: "missing" (in SQLite, not in PostgreSQL), "tombstoned" (alive in
// SQLite, tombstoned in PostgreSQL: never tolerated, not even by a dead letter, since a copy
// that deleted a live row has lost it), "different" (both, values differ), "extra" (live in
// PostgreSQL, not in SQLite), "refused" (a SQLite value that does not fit its column).
struct VerifyRow {
  std::string kind;
  std::string record_key;
  std::string tolerated;  // "", "dead letter" or "conflict"
  std::string tolerated_reason;
  std::string detail;  // differing columns ("title: sqlite 'a', postgres 'b'"), or the reason
};

struct VerifyTable {
  std::string table;
  bool replicated = true;
  std::string problem;  // table-level difference ("not provisioned ..."), or why not replicated
  int64_t rows = 0;     // SQLite rows compared
  int64_t equal = 0;
  int64_t differences = 0;  // rows that differ and are not tolerated
  int64_t dead_letters = 0;
  int64_t conflicts = 0;
  std::vector<std::string> extra_columns;  // compared against _owsync_extra
  std::vector<VerifyRow> rows_reported;    // at most 2 * max_report
};

struct VerifyReport {
  int64_t acked_offset = 0;
  std::string acked_outbox_id;  // "" when none yet
  bool checked_outbox = false;
  std::string outbox_id;
  uint64_t durable_offset = 0;
  bool caught_up = true;
  std::string not_caught_up;  // "not caught up: acked 120 of 450" (tables empty then)
  std::vector<VerifyTable> tables;
  std::vector<std::string> notes;  // tables only in PostgreSQL, ...

  int64_t Differences() const;  // rows plus table-level problems
  int64_t Tolerated() const;    // dead letters plus conflicts
  // 0 equal (tolerated rows allowed unless strict), 1 different, 3 not caught up.
  int ExitCode(bool strict) const;
};

class Verifier {
 public:
  // Pointers must outlive the Verifier; logger may be null.
  Verifier(FileSystem* fs, Clock* clock, Logger* logger)
      : fs_(fs), clock_(clock), logger_(logger) {}

  // Compares (see above). Errors: the database or PostgreSQL cannot be reached or read, the
  // client has no offset row visible to this role (FailedPrecondition), bad options
  // (InvalidArgument). Differences and "not caught up" are in the report, not errors.
  Result<VerifyReport> Run(const VerifyOptions& options);

 private:
  FileSystem* fs_;
  Clock* clock_;
  Logger* logger_;
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_VERIFIER_H_
