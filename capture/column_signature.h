// ColumnSignature: what capture remembers of a table's columns between runs, in
// _owsync_meta ("columns:<table>"): each column's name, DEFAULT and key position. A capture
// that starts after a migration compares the table with it, so a change that gives existing
// rows new values without firing a trigger (a column added with a DEFAULT, a column renamed,
// a key that changed) is noticed even when no capture was running when it happened.
#ifndef OWSYNC_CAPTURE_COLUMN_SIGNATURE_H_
#define OWSYNC_CAPTURE_COLUMN_SIGNATURE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "capture/table_info.h"
#include "util/result.h"

namespace owsync::capture {

class ColumnSignature {
 public:
  struct Entry {
    std::string name;
    std::string default_sql;  // "" when none
    uint32_t key_position = 0;
    friend bool operator==(const Entry&, const Entry&) = default;
  };

  static ColumnSignature Of(const TableInfo& table);
  // Corruption when `text` was not written by Encode().
  static Result<ColumnSignature> Decode(std::string_view text);
  // Length-prefixed, so any byte may appear in a name or a default.
  std::string Encode() const;

  // Whether rows that existed under `before` may read values under *this that no trigger
  // reported: a column added with a non-NULL DEFAULT, a column renamed (one gone, one new),
  // or a different key (the PostgreSQL copy is then rebuilt from scratch).
  bool NeedsSnapshotAfter(const ColumnSignature& before) const;

  const std::vector<Entry>& entries() const { return entries_; }
  friend bool operator==(const ColumnSignature&, const ColumnSignature&) = default;

 private:
  std::vector<Entry> entries_;
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_COLUMN_SIGNATURE_H_
