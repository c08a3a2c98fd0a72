// The two implementations behind crc32c::Extend, exposed so tests can check that they agree.
// Not for use outside util/: call crc32c::Extend, which picks the fastest one available.
#ifndef OWSYNC_UTIL_CRC32C_INTERNAL_H_
#define OWSYNC_UTIL_CRC32C_INTERNAL_H_

#include <cstddef>
#include <cstdint>

namespace owsync::crc32c::internal {

// Table-driven (slicing-by-8); runs on any CPU.
uint32_t ExtendPortable(uint32_t init_crc, const char* data, size_t n);
// True when this CPU has the SSE4.2 crc32 instruction (checked with cpuid).
bool HasHardwareSupport();
// The SSE4.2 version. Must only be called when HasHardwareSupport() is true.
uint32_t ExtendHardware(uint32_t init_crc, const char* data, size_t n);

}  // namespace owsync::crc32c::internal

#endif  // OWSYNC_UTIL_CRC32C_INTERNAL_H_
