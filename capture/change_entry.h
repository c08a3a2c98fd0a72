// ChangeEntry: one row of the changelog (_owsync_changes): the seq the trigger drew, the
// table, what happened and the key of the row it happened to (key values only, never the row).
#ifndef OWSYNC_CAPTURE_CHANGE_ENTRY_H_
#define OWSYNC_CAPTURE_CHANGE_ENTRY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "outbox/value.h"

namespace owsync::capture {

enum class ChangeOp : int { kInsert = 1, kUpdate = 2, kDelete = 3 };

struct ChangeEntry {
  int64_t seq = 0;
  std::string table;
  ChangeOp op = ChangeOp::kInsert;
  int64_t ts = 0;                  // unix seconds when the trigger fired
  std::vector<outbox::Value> key;  // k1..kN as stored (N = the changelog's key columns)
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_CHANGE_ENTRY_H_
