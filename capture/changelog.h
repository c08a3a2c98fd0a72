// Changelog: owsync's change table inside the tenant database,
//   _owsync_changes(seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT, op INTEGER, ts INTEGER,
//                   k1, k2, k3, k4 [, k5 ...])
// filled by the capture triggers in the application's own transactions and emptied by the
// drain once the outbox holds the changes durably. Only key values are logged (typeless
// columns keep them exactly), so a migration that drops a non-key column never breaks a
// trigger. AUTOINCREMENT keeps seq from ever being reused, also after the table was drained
// empty (the high-water mark lives in sqlite_sequence). Key columns beyond k4 are added when a
// table with a wider key is captured. Methods run inside the caller's transaction.
#ifndef OWSYNC_CAPTURE_CHANGELOG_H_
#define OWSYNC_CAPTURE_CHANGELOG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "capture/change_entry.h"
#include "capture/sqlite_db.h"
#include "util/result.h"
#include "util/status.h"

namespace owsync::capture {

struct ChangelogStats {
  int64_t rows = 0;
  int64_t min_seq = 0;
  int64_t max_seq = 0;
  int64_t oldest_ts = 0;  // unix seconds of the oldest entry; 0 when empty
};

class Changelog {
 public:
  static constexpr char kTable[] = "_owsync_changes";
  static constexpr int kInitialKeyColumns = 4;

  explicit Changelog(SqliteDb* db) : db_(db) {}

  // Creates the table if missing (write transaction).
  [[nodiscard]] Status Create();
  Result<bool> Exists();
  // Number of k columns the table has.
  Result<int> KeyColumnCount();
  // Adds k columns up to `n` (write transaction).
  [[nodiscard]] Status EnsureKeyColumns(int n);
  // The highest seq ever drawn (sqlite_sequence); 0 when none was.
  Result<int64_t> Counter();
  // Up to `max` entries in seq order, starting at the oldest.
  Result<std::vector<ChangeEntry>> ReadBatch(size_t max);
  // Deletes the entries with seq < bound (write transaction). Returns how many.
  Result<int64_t> DeleteBelow(int64_t bound);
  // Row count, seq range and the age of the oldest entry (counts every row: for status).
  Result<ChangelogStats> Stats();
  // Cheap figures for the log: seq range and oldest timestamp, row count estimated from seqs.
  Result<ChangelogStats> QuickStats();
  [[nodiscard]] Status Drop();

  static std::string KeyColumnName(int i) { return "k" + std::to_string(i + 1); }

 private:
  SqliteDb* db_;
  int cached_key_columns_ = 0;
  SqliteStmt read_stmt_;
  size_t read_stmt_limit_ = 0;
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_CHANGELOG_H_
