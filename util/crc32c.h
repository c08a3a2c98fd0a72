// CRC-32C (Castagnoli), as used by iSCSI (RFC 3720) and the outbox format. Uses the SSE4.2
// instruction where the CPU has it, a table-driven version elsewhere; both give the same values.
#ifndef OWSYNC_UTIL_CRC32C_H_
#define OWSYNC_UTIL_CRC32C_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace owsync::crc32c {

// CRC of `data` continuing from `init_crc` (the CRC of the bytes before it; 0 to start).
uint32_t Extend(uint32_t init_crc, const char* data, size_t n);
inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }

}  // namespace owsync::crc32c

#endif  // OWSYNC_UTIL_CRC32C_H_
