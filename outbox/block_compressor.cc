#include "outbox/block_compressor.h"

#include <zstd.h>

#include "outbox/block_header.h"
#include "outbox/format.h"
#include "util/crc32c.h"

namespace owsync::outbox {

struct BlockCompressor::Context {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ~Context() { ZSTD_freeCCtx(cctx); }
};

BlockCompressor::BlockCompressor(int level) : ctx_(std::make_unique<Context>()), level_(level) {}
BlockCompressor::~BlockCompressor() = default;

Status BlockCompressor::Build(std::string_view records, uint32_t count, uint64_t first_offset,
                              BuiltBlock* out) {
  if (records.size() > format::kMaxBlockBytes) {
    return Status::InvalidArgument("block of " + std::to_string(records.size()) +
                                   " bytes exceeds the format's 2 GiB limit");
  }
  if (ctx_->cctx == nullptr) return Status::Internal("ZSTD_createCCtx failed");
  const size_t bound = ZSTD_compressBound(records.size());
  const size_t need = format::kBlockHeaderBytes + bound;
  // Keep the buffer near the usual block size: a huge block's buffer is not kept afterwards.
  if (buffer_.size() > 4 * need && buffer_.size() > (size_t{16} << 20)) {
    std::string().swap(buffer_);
  }
  if (buffer_.size() < need) buffer_.resize(need);

  BlockHeader h;
  h.raw_bytes = static_cast<uint32_t>(records.size());
  h.record_count = count;
  h.first_offset = first_offset;
  const size_t z = ZSTD_compressCCtx(ctx_->cctx, buffer_.data() + format::kBlockHeaderBytes, bound,
                                     records.data(), records.size(), level_);
  if (ZSTD_isError(z)) {
    return Status::Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(z));
  }
  if (z < records.size()) {
    h.compression = format::kCompressionZstd;
    h.stored_bytes = static_cast<uint32_t>(z);
    h.payload_crc = crc32c::Value(buffer_.data() + format::kBlockHeaderBytes, z);
    EncodeBlockHeader(h, buffer_.data());
    out->head = std::string_view(buffer_.data(), format::kBlockHeaderBytes + z);
    out->tail = {};
  } else {
    h.compression = format::kCompressionNone;
    h.stored_bytes = h.raw_bytes;
    h.payload_crc = crc32c::Value(records);
    EncodeBlockHeader(h, buffer_.data());
    out->head = std::string_view(buffer_.data(), format::kBlockHeaderBytes);
    out->tail = records;
  }
  return Status::OK();
}

}  // namespace owsync::outbox
