// SegmentReader: reads the header and blocks of one segment file without taking any lock. It
// never reads past the `limit` a caller gives (the durable watermark for the active segment, the
// file size for a sealed one) and never trusts a length it has not crc-checked. Thread-compatible.
#ifndef OWSYNC_OUTBOX_SEGMENT_READER_H_
#define OWSYNC_OUTBOX_SEGMENT_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "outbox/block_header.h"
#include "outbox/segment_header.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::outbox {

// What is at a byte position of a segment, as far as the bytes below a limit tell.
enum class BlockState {
  kOk,          // a block with a valid header (payload not yet checked)
  kEnd,         // the position is the limit: no more blocks
  kIncomplete,  // the header or the payload it announces goes past the limit (a torn tail?)
  kBad,         // the header is not valid (magic, crc, a field out of range)
};

struct BlockAt {
  BlockState state = BlockState::kEnd;
  BlockHeader header;   // kOk
  uint64_t next = 0;    // kOk: position after the block
  std::string problem;  // kIncomplete, kBad: what is wrong
};

class SegmentReader {
 public:
  // Opens `path` and checks its header: Corruption "<path>: byte 0: ..." if it is not valid.
  static Result<std::unique_ptr<SegmentReader>> Open(FileSystem* fs, const std::string& path);
  ~SegmentReader();
  // True if `path` ends before its header does (shorter than the fixed prefix, or than the
  // header length the prefix announces): a header whose write a crash cut off. A complete
  // header, valid or not, is not torn.
  static Result<bool> HasTornHeader(FileSystem* fs, const std::string& path);

  const std::string& path() const { return path_; }
  const SegmentHeader& header() const { return header_; }
  uint64_t data_start() const { return data_start_; }  // position of the first block
  Result<uint64_t> FileSize() const { return file_->Size(); }

  // What is at `pos`, using only bytes below `limit`.
  Result<BlockAt> ReadBlockHeader(uint64_t pos, uint64_t limit) const;
  // Reads the stored payload of the block at `pos` and checks its crc: Corruption naming path
  // and position if it does not match.
  [[nodiscard]] Status ReadPayload(uint64_t pos, const BlockHeader& h, std::string* stored) const;
  // Payload read, checked and decompressed into *raw (exactly h.raw_bytes bytes).
  [[nodiscard]] Status ReadRecords(uint64_t pos, const BlockHeader& h, std::string* raw);
  // Whether a block with a valid header and payload, whose first offset is at least
  // `min_offset`, starts somewhere in [from, limit) and ends by `limit`. Used to tell a torn tail
  // (nothing valid after the bad spot) from corruption (valid data after it).
  Result<bool> HasValidBlockAfter(uint64_t from, uint64_t limit, uint64_t min_offset) const;

  // Corruption "<path>: byte <pos>: <what>".
  Status CorruptionAt(uint64_t pos, std::string_view what) const;

 private:
  SegmentReader(std::string path, std::unique_ptr<RandomAccessFile> file);

  std::string path_;
  std::unique_ptr<RandomAccessFile> file_;
  SegmentHeader header_;
  uint64_t data_start_ = 0;
  std::string stored_;  // scratch for compressed payloads
  struct Decompressor;
  std::unique_ptr<Decompressor> dctx_;
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_SEGMENT_READER_H_
