#include "util/coding.h"

namespace owsync {

void EncodeFixed32(char* dst, uint32_t v) {
  for (int i = 0; i < 4; ++i) dst[i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}

void EncodeFixed64(char* dst, uint64_t v) {
  for (int i = 0; i < 8; ++i) dst[i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}

uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

void PutFixed32(std::string* dst, uint32_t v) {
  char buf[4];
  EncodeFixed32(buf, v);
  dst->append(buf, sizeof(buf));
}

void PutFixed64(std::string* dst, uint64_t v) {
  char buf[8];
  EncodeFixed64(buf, v);
  dst->append(buf, sizeof(buf));
}

void PutVarint64(std::string* dst, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7Fu) | 0x80u);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  dst->append(buf, n);
}

void PutVarint32(std::string* dst, uint32_t v) { PutVarint64(dst, v); }

void PutVarsint64(std::string* dst, int64_t v) {
  // Zigzag: 0, -1, 1, -2, ... -> 0, 1, 2, 3, ...; shifts done on unsigned values (no UB).
  const uint64_t u = (static_cast<uint64_t>(v) << 1) ^ (v < 0 ? ~uint64_t{0} : uint64_t{0});
  PutVarint64(dst, u);
}

void PutLengthPrefixed(std::string* dst, std::string_view value) {
  PutVarint64(dst, value.size());
  dst->append(value.data(), value.size());
}

int VarintLength(uint64_t v) {
  int len = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++len;
  }
  return len;
}

bool GetFixed32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  *v = DecodeFixed32(in->data());
  in->remove_prefix(4);
  return true;
}

bool GetFixed64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = DecodeFixed64(in->data());
  in->remove_prefix(8);
  return true;
}

namespace {

// Decodes at most `max_bytes` bytes; rejects values that do not fit in `max_bits` bits, so every
// value has exactly one accepted encoding length bound (10 bytes for 64 bits, 5 for 32).
bool GetVarint(std::string_view* in, uint64_t* v, int max_bytes, int max_bits) {
  uint64_t result = 0;
  const size_t limit = in->size();
  for (int i = 0; i < max_bytes; ++i) {
    if (static_cast<size_t>(i) >= limit) return false;  // truncated
    const auto byte = static_cast<unsigned char>((*in)[i]);
    const int shift = 7 * i;
    const uint64_t payload = byte & 0x7Fu;
    if (shift + 7 > max_bits && (payload >> (max_bits - shift)) != 0) return false;  // overflow
    result |= payload << shift;
    if ((byte & 0x80u) == 0) {
      in->remove_prefix(i + 1);
      *v = result;
      return true;
    }
  }
  return false;  // continuation bit still set after max_bytes: overlong
}

}  // namespace

bool GetVarint64(std::string_view* in, uint64_t* v) { return GetVarint(in, v, 10, 64); }

bool GetVarint32(std::string_view* in, uint32_t* v) {
  uint64_t wide = 0;
  if (!GetVarint(in, &wide, 5, 32)) return false;
  *v = static_cast<uint32_t>(wide);
  return true;
}

bool GetVarsint64(std::string_view* in, int64_t* v) {
  uint64_t u = 0;
  if (!GetVarint64(in, &u)) return false;
  *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1u) + 1u));
  return true;
}

bool GetLengthPrefixed(std::string_view* in, std::string_view* value) {
  uint64_t len = 0;
  if (!GetVarint64(in, &len)) return false;
  if (len > in->size()) return false;
  *value = in->substr(0, len);
  in->remove_prefix(len);
  return true;
}

}  // namespace owsync
