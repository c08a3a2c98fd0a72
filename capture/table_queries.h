// TableQueries: the SQL capture runs against a replicated table (every identifier quoted) and
// the helpers that turn result rows into outbox values. Row images always list the table's
// columns in table order, as the table's kSchema record announces them.
#ifndef OWSYNC_CAPTURE_TABLE_QUERIES_H_
#define OWSYNC_CAPTURE_TABLE_QUERIES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "capture/sqlite_stmt.h"
#include "capture/table_info.h"
#include "outbox/value.h"

namespace owsync::capture {

class TableQueries {
 public:
  // SELECT <columns> FROM t WHERE k1 = ?1 AND ... (IS for nullable key columns).
  static std::string SelectByKey(const TableInfo& t);
  // The first chunk of a snapshot in key order: ... ORDER BY keys LIMIT ?1.
  static std::string SelectFirstChunk(const TableInfo& t);
  // The next chunk after the key bound to ?1..?n: WHERE (keys) > (?1..?n) ORDER BY keys
  // LIMIT ?(n+1).
  static std::string SelectNextChunk(const TableInfo& t);
  // Rows with a NULL in a nullable key column (keyset pagination cannot reach them), in rowid
  // order after the rowid bound to ?1: SELECT _rowid_, <columns> ... LIMIT ?2.
  static std::string SelectNullKeyChunk(const TableInfo& t);

  // Reads `n` columns starting at result column `first` into *row; returns the bytes of
  // row data (text/blob bytes plus 8 per value), the measure batches are bounded by.
  static uint64_t ReadRow(const SqliteStmt& stmt, int first, size_t n,
                          std::vector<outbox::Value>* row);
  // The key values of a row image, in key order.
  static std::vector<outbox::Value> KeyOf(const TableInfo& t,
                                          const std::vector<outbox::Value>& row);
  static uint64_t ValueBytes(const outbox::Value& v) { return v.bytes.size() + 8; }
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_TABLE_QUERIES_H_
