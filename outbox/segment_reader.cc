#include "outbox/segment_reader.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "outbox/format.h"
#include "util/crc32c.h"

namespace owsync::outbox {

struct SegmentReader::Decompressor {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  ~Decompressor() { ZSTD_freeDCtx(dctx); }
};

SegmentReader::SegmentReader(std::string path, std::unique_ptr<RandomAccessFile> file)
    : path_(std::move(path)), file_(std::move(file)) {}
SegmentReader::~SegmentReader() = default;

Status SegmentReader::CorruptionAt(uint64_t pos, std::string_view what) const {
  return Status::Corruption(path_ + ": byte " + std::to_string(pos) + ": " + std::string(what));
}

Result<std::unique_ptr<SegmentReader>> SegmentReader::Open(FileSystem* fs,
                                                           const std::string& path) {
  OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> file, fs->NewRandomAccessFile(path));
  std::unique_ptr<SegmentReader> r(new SegmentReader(path, std::move(file)));
  std::string bytes;
  OWSYNC_RETURN_IF_ERROR(r->file_->Read(0, format::kSegmentHeaderMaxBytes, &bytes));
  auto len = SegmentHeaderLength(bytes);
  if (!len.ok()) return r->CorruptionAt(0, len.status().message());
  if (bytes.size() < *len) return r->CorruptionAt(0, "segment header truncated");
  Status s = DecodeSegmentHeader(std::string_view(bytes).substr(0, *len), &r->header_);
  if (!s.ok()) return r->CorruptionAt(0, s.message());
  r->data_start_ = *len;
  return r;
}

Result<bool> SegmentReader::HasTornHeader(FileSystem* fs, const std::string& path) {
  OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> file, fs->NewRandomAccessFile(path));
  std::string bytes;
  OWSYNC_RETURN_IF_ERROR(file->Read(0, format::kSegmentHeaderMaxBytes, &bytes));
  if (bytes.size() < format::kSegmentHeaderPrefixBytes) return true;
  auto len = SegmentHeaderLength(bytes);
  return len.ok() && bytes.size() < *len;
}

Result<BlockAt> SegmentReader::ReadBlockHeader(uint64_t pos, uint64_t limit) const {
  BlockAt at;
  if (pos >= limit) {
    at.state = pos == limit ? BlockState::kEnd : BlockState::kIncomplete;
    if (pos > limit) at.problem = "position past the limit";
    return at;
  }
  if (limit - pos < format::kBlockHeaderBytes) {
    at.state = BlockState::kIncomplete;
    at.problem = "block header cut off after " + std::to_string(limit - pos) + " bytes";
    return at;
  }
  std::string bytes;
  OWSYNC_RETURN_IF_ERROR(file_->Read(pos, format::kBlockHeaderBytes, &bytes));
  if (bytes.size() < format::kBlockHeaderBytes) {
    at.state = BlockState::kIncomplete;
    at.problem = "block header cut off after " + std::to_string(bytes.size()) + " bytes";
    return at;
  }
  Status s = DecodeBlockHeader(bytes, &at.header);
  if (!s.ok()) {
    at.state = BlockState::kBad;
    at.problem = s.message();
    return at;
  }
  const uint64_t end = pos + format::kBlockHeaderBytes + at.header.stored_bytes;
  if (end > limit) {
    at.state = BlockState::kIncomplete;
    at.problem = "block of " + std::to_string(end - pos) + " bytes cut off after " +
                 std::to_string(limit - pos);
    return at;
  }
  at.state = BlockState::kOk;
  at.next = end;
  return at;
}

Status SegmentReader::ReadPayload(uint64_t pos, const BlockHeader& h, std::string* stored) const {
  OWSYNC_RETURN_IF_ERROR(file_->Read(pos + format::kBlockHeaderBytes, h.stored_bytes, stored));
  if (stored->size() != h.stored_bytes) return CorruptionAt(pos, "block payload truncated");
  if (crc32c::Value(*stored) != h.payload_crc)
    return CorruptionAt(pos, "block payload crc mismatch");
  return Status::OK();
}

Status SegmentReader::ReadRecords(uint64_t pos, const BlockHeader& h, std::string* raw) {
  if (h.compression == format::kCompressionNone) return ReadPayload(pos, h, raw);
  OWSYNC_RETURN_IF_ERROR(ReadPayload(pos, h, &stored_));
  if (!dctx_) dctx_ = std::make_unique<Decompressor>();
  if (dctx_->dctx == nullptr) return Status::Internal("ZSTD_createDCtx failed");
  raw->resize(h.raw_bytes);
  const size_t n =
      ZSTD_decompressDCtx(dctx_->dctx, raw->data(), raw->size(), stored_.data(), stored_.size());
  if (ZSTD_isError(n)) {
    return CorruptionAt(pos, std::string("zstd: ") + ZSTD_getErrorName(n));
  }
  if (n != h.raw_bytes) {
    return CorruptionAt(pos, "block decompresses to " + std::to_string(n) + " bytes, header says " +
                                 std::to_string(h.raw_bytes));
  }
  // Keep scratch memory near the usual block size after a huge block.
  if (stored_.capacity() > (size_t{64} << 20)) std::string().swap(stored_);
  return Status::OK();
}

Result<bool> SegmentReader::HasValidBlockAfter(uint64_t from, uint64_t limit,
                                               uint64_t min_offset) const {
  constexpr size_t kChunk = size_t{1} << 20;
  std::string chunk, payload;
  for (uint64_t start = from; start + format::kBlockHeaderBytes <= limit;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, limit - start));
    OWSYNC_RETURN_IF_ERROR(file_->Read(start, n, &chunk));
    if (chunk.size() < format::kBlockHeaderBytes) break;
    // Candidates: every position of the chunk whose 4 bytes are the block magic.
    for (size_t i = 0; i + 4 <= chunk.size(); ++i) {
      const void* hit = std::memchr(chunk.data() + i, format::kBlockMagic[0], chunk.size() - i);
      if (hit == nullptr) break;
      i = static_cast<size_t>(static_cast<const char*>(hit) - chunk.data());
      if (i + 4 > chunk.size()) break;
      if (std::memcmp(chunk.data() + i, format::kBlockMagic, 4) != 0) continue;
      OWSYNC_ASSIGN_OR_RETURN(BlockAt at, ReadBlockHeader(start + i, limit));
      if (at.state != BlockState::kOk || at.header.first_offset < min_offset) continue;
      Status s = ReadPayload(start + i, at.header, &payload);
      if (s.ok()) return true;
      if (!s.IsCorruption()) return s;
    }
    if (n < kChunk) break;
    start += n - 3;  // a magic may straddle the chunk border
  }
  return false;
}

}  // namespace owsync::outbox
