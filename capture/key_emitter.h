// KeyEmitter: the records for one key of a replicated table, read inside the caller's
// transaction: the current row image as a kUpsert (under the row's real key: the lookup
// compares with the column's collation and numeric equality, the outbox keys rows exactly, so
// a row found under another spelling of the key, 'ABC' for 'abc' or 1.0 for 1, is upserted
// with its own key), and a kDelete of the key when no row has exactly that key. Used by the
// drain (keys from the changelog) and by repairs (keys the shipper found drifted).
// Prepared statements are cached per table; Invalidate() after the schema or the connection
// changed.
#ifndef OWSYNC_CAPTURE_KEY_EMITTER_H_
#define OWSYNC_CAPTURE_KEY_EMITTER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "capture/record_emitter.h"
#include "capture/sqlite_db.h"
#include "capture/table_info.h"
#include "util/result.h"

namespace owsync::capture {

struct KeyEmitted {
  size_t upserts = 0;
  size_t deletes = 0;
  uint64_t row_bytes = 0;  // row data read
};

class KeyEmitter {
 public:
  KeyEmitter(SqliteDb* db, RecordEmitter* emitter) : db_(db), emitter_(emitter) {}

  // Appends the records for `key` of `t`, each carrying `source_seq`.
  Result<KeyEmitted> Emit(const TableInfo& t, const std::vector<outbox::Value>& key,
                          uint64_t source_seq);
  void Invalidate() { lookup_.clear(); }

 private:
  Result<SqliteStmt*> LookupStmt(const TableInfo& t);

  SqliteDb* db_;
  RecordEmitter* emitter_;
  std::map<std::string, SqliteStmt> lookup_;
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_KEY_EMITTER_H_
