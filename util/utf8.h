// Utf8: well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF), the
// one definition the copy encoder's messages and canonical JSON use.
#ifndef OWSYNC_UTIL_UTF8_H_
#define OWSYNC_UTIL_UTF8_H_

#include <cstddef>
#include <string_view>

namespace owsync {

// The length (1..4) of the well-formed UTF-8 sequence starting at text[i], or 0 when none does.
size_t Utf8SequenceAt(std::string_view text, size_t i);
// The offset of the first byte that does not start a well-formed sequence, or text.size().
size_t FirstInvalidUtf8(std::string_view text);

}  // namespace owsync

#endif  // OWSYNC_UTIL_UTF8_H_
