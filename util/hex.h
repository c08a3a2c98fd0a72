// Hex: lower-case hexadecimal text of bytes and back, for the small text files and keys that
// must carry arbitrary bytes (repair requests, verification cursors, dead letters' bytes).
#ifndef OWSYNC_UTIL_HEX_H_
#define OWSYNC_UTIL_HEX_H_

#include <string>
#include <string_view>

namespace owsync {

std::string HexEncode(std::string_view bytes);
// False (and *out unspecified) when `hex` has an odd length or a non-hex digit.
bool HexDecode(std::string_view hex, std::string* out);

}  // namespace owsync

#endif  // OWSYNC_UTIL_HEX_H_
