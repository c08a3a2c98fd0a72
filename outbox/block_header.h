// BlockHeader: the fixed 36-byte header in front of every block of a segment (layout in
// outbox/format.h).
#ifndef OWSYNC_OUTBOX_BLOCK_HEADER_H_
#define OWSYNC_OUTBOX_BLOCK_HEADER_H_

#include <cstdint>
#include <string_view>

#include "util/status.h"

namespace owsync::outbox {

struct BlockHeader {
  uint32_t stored_bytes = 0;  // P
  uint32_t raw_bytes = 0;     // U
  uint8_t compression = 0;
  uint32_t record_count = 0;
  uint64_t first_offset = 0;
  uint32_t payload_crc = 0;

  uint64_t end_offset() const { return first_offset + record_count; }  // one past the last
  friend bool operator==(const BlockHeader&, const BlockHeader&) = default;
};

// Writes the 36 header bytes (magic, fields, header crc) to out[0..36).
void EncodeBlockHeader(const BlockHeader& header, char* out);
// Decodes 36 bytes: Corruption saying what is wrong (magic, crc, a field out of range).
[[nodiscard]] Status DecodeBlockHeader(std::string_view bytes, BlockHeader* header);

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_BLOCK_HEADER_H_
