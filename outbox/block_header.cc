#include "outbox/block_header.h"

#include <cstring>
#include <string>

#include "outbox/format.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace owsync::outbox {

void EncodeBlockHeader(const BlockHeader& h, char* out) {
  std::memcpy(out, format::kBlockMagic, 4);
  EncodeFixed32(out + 4, h.stored_bytes);
  EncodeFixed32(out + 8, h.raw_bytes);
  out[12] = static_cast<char>(h.compression);
  out[13] = out[14] = out[15] = 0;
  EncodeFixed32(out + 16, h.record_count);
  EncodeFixed64(out + 20, h.first_offset);
  EncodeFixed32(out + 28, h.payload_crc);
  EncodeFixed32(out + 32, crc32c::Value(out, 32));
}

Status DecodeBlockHeader(std::string_view bytes, BlockHeader* h) {
  if (bytes.size() < format::kBlockHeaderBytes) {
    return Status::Corruption("block header truncated");
  }
  const char* p = bytes.data();
  if (std::memcmp(p, format::kBlockMagic, 4) != 0) return Status::Corruption("bad block magic");
  if (crc32c::Value(p, 32) != DecodeFixed32(p + 32)) {
    return Status::Corruption("block header crc mismatch");
  }
  h->stored_bytes = DecodeFixed32(p + 4);
  h->raw_bytes = DecodeFixed32(p + 8);
  h->compression = static_cast<uint8_t>(p[12]);
  h->record_count = DecodeFixed32(p + 16);
  h->first_offset = DecodeFixed64(p + 20);
  h->payload_crc = DecodeFixed32(p + 28);
  if (p[13] != 0 || p[14] != 0 || p[15] != 0) {
    return Status::Corruption("block header reserved bytes not zero");
  }
  if (h->compression != format::kCompressionNone && h->compression != format::kCompressionZstd) {
    return Status::Corruption("unknown block compression " + std::to_string(h->compression));
  }
  if (h->record_count == 0) return Status::Corruption("block with zero records");
  if (h->record_count > h->raw_bytes) return Status::Corruption("more records than bytes");
  if (h->raw_bytes > format::kMaxBlockBytes || h->stored_bytes > format::kMaxBlockBytes) {
    return Status::Corruption("block larger than the format allows");
  }
  if (h->compression == format::kCompressionNone && h->stored_bytes != h->raw_bytes) {
    return Status::Corruption("uncompressed block whose stored and raw sizes differ");
  }
  if (h->first_offset == 0 || h->first_offset + h->record_count < h->first_offset) {
    return Status::Corruption("block offsets out of range");
  }
  return Status::OK();
}

}  // namespace owsync::outbox
