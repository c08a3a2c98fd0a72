// TableComparator: checks that a copy built by OutboxApplier equals its source database row
// for row: every table of the source (but SQLite's and owsync's own) must exist in the copy
// with the same columns in the same order, and the same rows by key with exactly equal values
// (type and bytes: integer vs real vs text vs blob, real bit patterns such as -0.0). Tables
// the copy has and the source does not must be empty. It streams both sides ordered by key
// (memory does not grow with the table) and reports the first differences readably.
#ifndef OWSYNC_TESTS_TABLE_COMPARATOR_H_
#define OWSYNC_TESTS_TABLE_COMPARATOR_H_

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "outbox/record.h"
#include "util/result.h"

namespace owsync::testing {

struct ComparatorOptions {
  // Rows the copy may have although the source has not (table, WorkloadKeyCache::Encode(key)):
  // rows an INSERT OR REPLACE collision deleted without a delete trigger, before a snapshot
  // caught up with them. Counted, not reported.
  std::set<std::pair<std::string, std::string>> tolerated_extra_rows;
  std::vector<std::string> skip_tables;
  size_t max_reported = 12;
};

struct Comparison {
  int64_t tables = 0;
  int64_t rows_compared = 0;  // source rows
  int64_t tolerated_extra = 0;
  int64_t difference_count = 0;
  std::vector<std::string> differences;  // the first max_reported ones
  bool equal() const { return difference_count == 0; }
  std::string Summary() const;  // counts, then one difference per line
};

class TableComparator {
 public:
  // `copy_tables` are the copy's tables as the outbox described them (OutboxApplier::tables()),
  // which give each table's key.
  static Result<Comparison> Compare(
      sqlite3* source, sqlite3* copy,
      const std::map<std::string, std::vector<outbox::Column>>& copy_tables,
      const ComparatorOptions& options);

  // A readable rendering of a value ("text(5) 'hello'", "real -0 (bits 8000000000000000)").
  static std::string Describe(const outbox::Value& value);
  static std::string DescribeKey(const std::vector<outbox::Value>& key);
};

}  // namespace owsync::testing

#endif  // OWSYNC_TESTS_TABLE_COMPARATOR_H_
