// SnapshotProgress: how far the snapshot of one table is, for the log and a terminal line.
#ifndef OWSYNC_CAPTURE_SNAPSHOT_PROGRESS_H_
#define OWSYNC_CAPTURE_SNAPSHOT_PROGRESS_H_

#include <cstdint>
#include <functional>
#include <string>

namespace owsync::capture {

struct SnapshotProgress {
  std::string table;
  uint64_t rows = 0;
  uint64_t bytes = 0;       // row data read
  int64_t total_rows = -1;  // count(*) at the start; -1 unknown
  int64_t elapsed_micros = 0;
  int64_t eta_micros = -1;  // -1 unknown
  bool done = false;
};

using SnapshotProgressFn = std::function<void(const SnapshotProgress&)>;

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_SNAPSHOT_PROGRESS_H_
