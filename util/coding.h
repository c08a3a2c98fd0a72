// Little-endian fixed-width and LEB128 varint encoding, plus zigzag for signed integers.
// Put* append to a std::string; Get* consume from the front of a std::string_view and return
// false (leaving the input in an unspecified position) when the input is too short or malformed.
#ifndef OWSYNC_UTIL_CODING_H_
#define OWSYNC_UTIL_CODING_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace owsync {

void PutFixed32(std::string* dst, uint32_t v);
void PutFixed64(std::string* dst, uint64_t v);
void PutVarint32(std::string* dst, uint32_t v);
void PutVarint64(std::string* dst, uint64_t v);
void PutVarsint64(std::string* dst, int64_t v);  // zigzag + varint
// Varint length followed by the bytes.
void PutLengthPrefixed(std::string* dst, std::string_view value);

uint32_t DecodeFixed32(const char* p);
uint64_t DecodeFixed64(const char* p);
void EncodeFixed32(char* dst, uint32_t v);
void EncodeFixed64(char* dst, uint64_t v);

[[nodiscard]] bool GetFixed32(std::string_view* in, uint32_t* v);
[[nodiscard]] bool GetFixed64(std::string_view* in, uint64_t* v);
[[nodiscard]] bool GetVarint32(std::string_view* in, uint32_t* v);
[[nodiscard]] bool GetVarint64(std::string_view* in, uint64_t* v);
[[nodiscard]] bool GetVarsint64(std::string_view* in, int64_t* v);
[[nodiscard]] bool GetLengthPrefixed(std::string_view* in, std::string_view* value);

int VarintLength(uint64_t v);

}  // namespace owsync

#endif  // OWSYNC_UTIL_CODING_H_
