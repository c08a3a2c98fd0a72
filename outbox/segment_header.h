// SegmentHeader: the header at the start of every segment file (layout in outbox/format.h).
#ifndef OWSYNC_OUTBOX_SEGMENT_HEADER_H_
#define OWSYNC_OUTBOX_SEGMENT_HEADER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"
#include "util/status.h"

namespace owsync::outbox {

struct SegmentHeader {
  uint64_t first_offset = 0;
  std::string outbox_id;
  std::string database_generation;
  friend bool operator==(const SegmentHeader&, const SegmentHeader&) = default;
};

// The encoded header (H bytes). InvalidArgument if an id is too long.
Result<std::string> EncodeSegmentHeader(const SegmentHeader& header);
// H, read from the first kSegmentHeaderPrefixBytes bytes: Corruption if the magic, version or
// length is wrong.
Result<size_t> SegmentHeaderLength(std::string_view prefix);
// Decodes exactly H bytes: Corruption saying what is wrong.
[[nodiscard]] Status DecodeSegmentHeader(std::string_view bytes, SegmentHeader* header);

// True if `id` may be an outbox id (1..255 printable ASCII bytes, no space) or, with
// allow_empty and spaces, a database generation.
bool IsValidId(std::string_view id, bool is_generation);

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_SEGMENT_HEADER_H_
