#include "outbox/record_fingerprint.h"

#include <xxhash.h>

namespace owsync::outbox {

uint64_t RecordFingerprint(std::string_view body) { return XXH3_64bits(body.data(), body.size()); }

std::string FingerprintHex(uint64_t fingerprint) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kHex[fingerprint & 0xF];
    fingerprint >>= 4;
  }
  return out;
}

bool IsFingerprintHex(std::string_view text) {
  if (text.size() != 16) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace owsync::outbox
