// WorkloadGenerator: an application-like writer for an Open WebUI SQLite database, for the
// chaos tests, the demo and the benchmarks (`owsync workload`). It runs random single- and
// multi-statement transactions over the database's tables: inserts, updates, upserts, key
// changes (UPDATE of a key column), INSERT OR REPLACE on an existing key, INSERT OR REPLACE
// that collides through a secondary UNIQUE constraint (which deletes a row without firing a
// delete trigger: a "victim"), and deletes — with realistic and, at a configurable rate, odd
// values (see WorkloadValues).
//
// It reads the tables from the database and re-reads them whenever PRAGMA schema_version
// moves, so it keeps writing through a migration (afterwards it writes the new shapes).
// Deterministic from the seed for a given starting database. busy_timeout is 5000 ms; a
// transaction that still meets SQLITE_BUSY is rolled back and retried whole, with backoff.
// One generator owns one connection; not thread-safe.
#ifndef OWSYNC_CLI_WORKLOAD_GENERATOR_H_
#define OWSYNC_CLI_WORKLOAD_GENERATOR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "outbox/value.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::cli {

struct WorkloadOptions {
  std::string db_path;
  uint64_t seed = 1;
  int64_t max_transactions = 0;  // stop after this many committed transactions; 0: no limit
  double max_seconds = 0;        // stop after this long; 0: no limit
  double rate = 0;               // transactions per second; 0: as fast as possible
  std::string journal_mode;      // "", "delete" or "wal" ("" leaves the database's own)
  std::string synchronous;       // "", "full" or "normal"
  double odd_rate = 0.02;        // share of odd values among the values written
  // Where to append one line per row deleted by an INSERT OR REPLACE collision (see
  // FormatVictim); "" for none. Written after the transaction committed.
  std::string victims_path;
  int busy_timeout_ms = 5000;
};

struct WorkloadCounts {
  int64_t transactions = 0;  // committed
  int64_t statements = 0;
  int64_t inserts = 0;
  int64_t updates = 0;
  int64_t upserts = 0;
  int64_t key_changes = 0;
  int64_t replaces = 0;            // INSERT OR REPLACE of an existing key
  int64_t replace_collisions = 0;  // INSERT OR REPLACE through a secondary UNIQUE constraint
  int64_t replace_victims = 0;     // rows those deleted
  int64_t deletes = 0;
  int64_t odd_values = 0;
  int64_t rows_changed = 0;
  int64_t constraint_rollbacks = 0;  // transactions a constraint failed (rolled back, not retried)
  int64_t busy_retries = 0;
  int64_t schema_reloads = 0;
  std::string last_constraint_error;  // the message of the last constraint rollback
  std::string ToString() const;       // "transactions=12 statements=30 ..."
};

// A row that an INSERT OR REPLACE collision deleted.
struct WorkloadVictim {
  std::string table;
  std::vector<outbox::Value> key;
};

class WorkloadGenerator {
 public:
  // The embedded Open WebUI fixture SQL: "v0.6.31", "v0.11.0" or "upgrade-rebuilds".
  static Result<std::string> FixtureSql(const std::string& name);
  // Creates a database at `path` from fixture schema `schema` ("v0.6.31" or "v0.11.0") in
  // `journal_mode` ("delete" or "wal"; "" = SQLite's default). AlreadyExists if it has tables.
  static Status InitDatabase(const std::string& path, const std::string& schema,
                             const std::string& journal_mode);

  // Opens the database (which must exist). `fs` writes the victims file; `clock` paces and
  // times the run. Both must outlive the generator.
  static Result<std::unique_ptr<WorkloadGenerator>> Open(FileSystem* fs, Clock* clock,
                                                         const WorkloadOptions& options);
  ~WorkloadGenerator();

  // Runs transactions until a limit of the options is reached or `stop` (may be null) is set.
  [[nodiscard]] Status Run(const std::atomic<bool>* stop);
  // Plans and commits one transaction (retrying BUSY). OK also when a constraint rolled it back.
  [[nodiscard]] Status RunTransaction();

  const WorkloadCounts& counts() const;
  const std::vector<WorkloadVictim>& victims() const;

  // One line (no newline) for a victim: table and key values, tab-separated, each value as
  // n | i:<int> | r:<16 hex digits of the bits> | t:<hex> | b:<hex>.
  static std::string FormatVictim(const WorkloadVictim& victim);
  // Parses the lines FormatVictim wrote (one per line; a torn last line is ignored).
  static Result<std::vector<WorkloadVictim>> ParseVictims(const std::string& text);

 private:
  class Impl;
  explicit WorkloadGenerator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_WORKLOAD_GENERATOR_H_
