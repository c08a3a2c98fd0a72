// Watermark: the durable watermark the outbox writer publishes in DURABLE after every fsync
// (slot layout in outbox/format.h). Readers never return a record above `durable_offset` nor read
// bytes of segment `segment_first_offset` at or past `segment_position`.
#ifndef OWSYNC_OUTBOX_WATERMARK_H_
#define OWSYNC_OUTBOX_WATERMARK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/file_system.h"
#include "util/result.h"

namespace owsync::outbox {

struct Watermark {
  uint64_t id_hash = 0;               // IdentityFile::Hash(outbox id)
  uint64_t durable_offset = 0;        // every record at or below it is durable
  uint64_t segment_first_offset = 0;  // segment holding the end of the durable data
  uint64_t segment_position = 0;      // durable bytes of that segment (a block boundary)
  friend bool operator==(const Watermark&, const Watermark&) = default;

  // The 44-byte slot.
  std::string EncodeSlot() const;
  // nullopt if `slot` is not a complete, valid slot.
  static std::optional<Watermark> DecodeSlot(std::string_view slot);
  // The newest valid slot of the DURABLE file at `path`; nullopt when the file is missing,
  // empty or holds no valid slot (the writer is starting it over, or crashed before rewriting
  // it): callers then re-read later. An error only for an I/O failure.
  static Result<std::optional<Watermark>> Read(FileSystem* fs, const std::string& path);
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_WATERMARK_H_
