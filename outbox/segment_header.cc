#include "outbox/segment_header.h"

#include <cstring>

#include "outbox/format.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace owsync::outbox {
namespace {

void PutId(std::string* dst, std::string_view id) {
  char len[2] = {static_cast<char>(id.size() & 0xFF), static_cast<char>(id.size() >> 8)};
  dst->append(len, 2);
  dst->append(id);
}

bool GetId(std::string_view* in, std::string* id) {
  if (in->size() < 2) return false;
  const size_t n =
      static_cast<uint8_t>((*in)[0]) | (static_cast<size_t>(static_cast<uint8_t>((*in)[1])) << 8);
  in->remove_prefix(2);
  if (n > in->size()) return false;
  id->assign(in->data(), n);
  in->remove_prefix(n);
  return true;
}

}  // namespace

bool IsValidId(std::string_view id, bool is_generation) {
  if (id.size() > format::kMaxIdBytes) return false;
  if (!is_generation && id.empty()) return false;
  for (char c : id) {
    const auto u = static_cast<unsigned char>(c);
    if (u > 0x7E || u < 0x20 || (u == 0x20 && !is_generation)) return false;
  }
  return true;
}

Result<std::string> EncodeSegmentHeader(const SegmentHeader& h) {
  if (!IsValidId(h.outbox_id, false)) {
    return Status::InvalidArgument("outbox id must be 1..255 printable ASCII bytes without spaces");
  }
  if (!IsValidId(h.database_generation, true)) {
    return Status::InvalidArgument("database generation must be 0..255 printable ASCII bytes");
  }
  const size_t total =
      format::kSegmentHeaderMinBytes + h.outbox_id.size() + h.database_generation.size();
  std::string out(format::kSegmentMagic, sizeof(format::kSegmentMagic));
  PutFixed32(&out, format::kFormatVersion);
  PutFixed32(&out, static_cast<uint32_t>(total));
  PutFixed64(&out, h.first_offset);
  PutId(&out, h.outbox_id);
  PutId(&out, h.database_generation);
  PutFixed32(&out, crc32c::Value(out));
  return out;
}

Result<size_t> SegmentHeaderLength(std::string_view prefix) {
  if (prefix.size() < format::kSegmentHeaderPrefixBytes) {
    return Status::Corruption("segment header: shorter than its fixed prefix");
  }
  if (std::memcmp(prefix.data(), format::kSegmentMagic, sizeof(format::kSegmentMagic)) != 0) {
    return Status::Corruption("segment header: bad magic (not an owsync segment)");
  }
  const uint32_t version = DecodeFixed32(prefix.data() + 8);
  if (version != format::kFormatVersion) {
    return Status::Corruption("segment header: unsupported format version " +
                              std::to_string(version));
  }
  const uint32_t len = DecodeFixed32(prefix.data() + 12);
  if (len < format::kSegmentHeaderMinBytes || len > format::kSegmentHeaderMaxBytes) {
    return Status::Corruption("segment header: impossible header length " + std::to_string(len));
  }
  return static_cast<size_t>(len);
}

Status DecodeSegmentHeader(std::string_view bytes, SegmentHeader* h) {
  OWSYNC_ASSIGN_OR_RETURN(const size_t len, SegmentHeaderLength(bytes));
  if (bytes.size() != len) return Status::Corruption("segment header: truncated");
  const uint32_t stored_crc = DecodeFixed32(bytes.data() + len - 4);
  if (crc32c::Value(bytes.data(), len - 4) != stored_crc) {
    return Status::Corruption("segment header: crc mismatch");
  }
  std::string_view in = bytes.substr(format::kSegmentHeaderPrefixBytes, len - 4 - 16);
  if (!GetFixed64(&in, &h->first_offset) || !GetId(&in, &h->outbox_id) ||
      !GetId(&in, &h->database_generation) || !in.empty()) {
    return Status::Corruption("segment header: id lengths do not add up to the header length");
  }
  if (!IsValidId(h->outbox_id, false) || !IsValidId(h->database_generation, true)) {
    return Status::Corruption("segment header: id with bytes outside printable ASCII");
  }
  if (h->first_offset == 0) return Status::Corruption("segment header: first offset 0");
  return Status::OK();
}

}  // namespace owsync::outbox
