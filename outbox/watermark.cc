#include "outbox/watermark.h"

#include <cstring>

#include "outbox/format.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace owsync::outbox {

std::string Watermark::EncodeSlot() const {
  std::string out(format::kDurableMagic, sizeof(format::kDurableMagic));
  PutFixed32(&out, format::kDurableVersion);
  PutFixed64(&out, id_hash);
  PutFixed64(&out, durable_offset);
  PutFixed64(&out, segment_first_offset);
  PutFixed64(&out, segment_position);
  PutFixed32(&out, crc32c::Value(out));
  return out;
}

std::optional<Watermark> Watermark::DecodeSlot(std::string_view slot) {
  if (slot.size() != format::kDurableSlotBytes) return std::nullopt;
  const char* p = slot.data();
  if (std::memcmp(p, format::kDurableMagic, 4) != 0) return std::nullopt;
  if (DecodeFixed32(p + 4) != format::kDurableVersion) return std::nullopt;
  if (crc32c::Value(p, 40) != DecodeFixed32(p + 40)) return std::nullopt;
  Watermark w;
  w.id_hash = DecodeFixed64(p + 8);
  w.durable_offset = DecodeFixed64(p + 16);
  w.segment_first_offset = DecodeFixed64(p + 24);
  w.segment_position = DecodeFixed64(p + 32);
  if (w.segment_first_offset == 0 || w.durable_offset + 1 < w.segment_first_offset) {
    return std::nullopt;
  }
  return w;
}

Result<std::optional<Watermark>> Watermark::Read(FileSystem* fs, const std::string& path) {
  auto file = fs->NewRandomAccessFile(path);
  if (!file.ok()) {
    if (file.status().IsNotFound()) return std::optional<Watermark>();
    return file.status();
  }
  OWSYNC_ASSIGN_OR_RETURN(const uint64_t size, (*file)->Size());
  if (size > format::kDurableFileMaxBytes) return std::optional<Watermark>();
  std::string bytes;
  OWSYNC_RETURN_IF_ERROR((*file)->Read(0, size, &bytes));
  // Newest complete slot first; an incomplete or invalid one (an append in progress) is passed.
  for (size_t n = bytes.size() / format::kDurableSlotBytes; n > 0; --n) {
    const std::string_view slot(bytes.data() + (n - 1) * format::kDurableSlotBytes,
                                format::kDurableSlotBytes);
    if (auto w = DecodeSlot(slot)) return w;
  }
  return std::optional<Watermark>();
}

}  // namespace owsync::outbox
