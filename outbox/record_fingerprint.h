// RecordFingerprint: a 64-bit fingerprint of one outbox record, XXH3-64 (xxhash) of the record's
// body bytes as stored (after the varint body length; the offset is not in it). Two outboxes
// that hold a different record at the same offset (one restored from an older copy, then
// written on: capture tokens are random) have different fingerprints there. The shipper stores
// the fingerprint of the acknowledged record in PostgreSQL and in ACKED; the record at the
// acknowledged offset must still have it when shipping resumes (AckedCheck).
#ifndef OWSYNC_OUTBOX_RECORD_FINGERPRINT_H_
#define OWSYNC_OUTBOX_RECORD_FINGERPRINT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace owsync::outbox {

uint64_t RecordFingerprint(std::string_view body);
// 16 lower-case hex digits.
std::string FingerprintHex(uint64_t fingerprint);
bool IsFingerprintHex(std::string_view text);

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_RECORD_FINGERPRINT_H_
