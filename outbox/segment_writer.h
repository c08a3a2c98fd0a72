// SegmentWriter: appends blocks to the active segment file of an outbox. Owned by the outbox
// writer. Bytes are durable only after Sync(); after a failed append or sync the caller cuts the
// file back with TruncateToSynced() so no half-written or unsynced block survives a reopen.
#ifndef OWSYNC_OUTBOX_SEGMENT_WRITER_H_
#define OWSYNC_OUTBOX_SEGMENT_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "outbox/block_compressor.h"
#include "outbox/outbox_dir.h"
#include "outbox/segment_header.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::outbox {

class SegmentWriter {
 public:
  // Creates the segment named header.first_offset in `dir`, writes its header, fsyncs the file
  // and the directory. AlreadyExists if the file is there.
  static Result<std::unique_ptr<SegmentWriter>> Create(FileSystem* fs, const OutboxDir& dir,
                                                       const SegmentHeader& header);
  // Continues the existing segment `path` whose first `size` bytes recovery found valid (its
  // header is `header`), and fsyncs it, so those bytes are durable from here on.
  static Result<std::unique_ptr<SegmentWriter>> Reopen(FileSystem* fs, std::string path,
                                                       const SegmentHeader& header, uint64_t size,
                                                       uint64_t header_bytes);
  ~SegmentWriter();

  [[nodiscard]] Status AppendBlock(const BuiltBlock& block);
  [[nodiscard]] Status Sync();
  [[nodiscard]] Status Close();
  [[nodiscard]] Status TruncateToSynced();

  const std::string& path() const { return path_; }
  const SegmentHeader& header() const { return header_; }
  uint64_t first_offset() const { return header_.first_offset; }
  uint64_t size() const { return size_; }
  uint64_t synced_size() const { return synced_size_; }
  bool has_blocks() const { return size_ > header_bytes_; }

 private:
  SegmentWriter(FileSystem* fs, std::string path, SegmentHeader header,
                std::unique_ptr<WritableFile> file, uint64_t size, uint64_t header_bytes);

  FileSystem* fs_;
  std::string path_;
  SegmentHeader header_;
  std::unique_ptr<WritableFile> file_;
  uint64_t size_;
  uint64_t synced_size_;
  uint64_t header_bytes_;
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_SEGMENT_WRITER_H_
