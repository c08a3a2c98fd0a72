// OutboxDir: names and paths inside one outbox directory (outbox/format.h), and the listing of
// its segment files. Stateless helpers; nothing here takes a lock or writes.
#ifndef OWSYNC_OUTBOX_OUTBOX_DIR_H_
#define OWSYNC_OUTBOX_OUTBOX_DIR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/file_system.h"
#include "util/result.h"

namespace owsync::outbox {

struct SegmentFile {
  uint64_t first_offset = 0;
  std::string path;
};

class OutboxDir {
 public:
  explicit OutboxDir(std::string dir) : dir_(std::move(dir)) {}

  const std::string& path() const { return dir_; }
  std::string LockPath() const;
  std::string IdentityPath() const;
  std::string DurablePath() const;
  std::string AckedPath() const;
  std::string RetiredDir() const;                            // dir/retired
  std::string RetiredDir(std::string_view outbox_id) const;  // dir/retired/<id>
  std::string SegmentPath(uint64_t first_offset) const;

  // The segment files of the directory, by first offset, ascending. Other entries are ignored.
  Result<std::vector<SegmentFile>> ListSegments(FileSystem* fs) const;

  // "00000000000000000001.seg" for 1.
  static std::string SegmentFileName(uint64_t first_offset);
  // The first offset a segment file name stands for, or nullopt if it is not one.
  static std::optional<uint64_t> ParseSegmentFileName(std::string_view name);

 private:
  std::string dir_;
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_OUTBOX_DIR_H_
