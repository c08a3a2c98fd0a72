// SqliteTxn: an open transaction on a SqliteDb, rolled back on destruction unless committed.
// Capture keeps every transaction short: reads in DELETE journal mode block the application's
// commits, and writes (BEGIN IMMEDIATE) block its writers. BeginRead starts a deferred
// transaction; its snapshot is taken at the first read. BeginImmediate takes the write lock at
// once (waiting up to the busy timeout, then Busy), so it can never deadlock with the
// application's transactions.
#ifndef OWSYNC_CAPTURE_SQLITE_TXN_H_
#define OWSYNC_CAPTURE_SQLITE_TXN_H_

#include "capture/sqlite_db.h"
#include "util/result.h"
#include "util/status.h"

namespace owsync::capture {

class SqliteTxn {
 public:
  static Result<SqliteTxn> BeginRead(SqliteDb* db);
  static Result<SqliteTxn> BeginImmediate(SqliteDb* db);
  ~SqliteTxn();
  SqliteTxn(SqliteTxn&& other) noexcept;
  SqliteTxn& operator=(SqliteTxn&&) = delete;
  SqliteTxn(const SqliteTxn&) = delete;
  SqliteTxn& operator=(const SqliteTxn&) = delete;

  // On failure (Busy: readers still active past the timeout) the transaction is rolled back.
  [[nodiscard]] Status Commit();
  void Rollback();

 private:
  explicit SqliteTxn(SqliteDb* db) : db_(db) {}
  SqliteDb* db_;
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_SQLITE_TXN_H_
