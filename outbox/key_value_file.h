// KeyValueFile: the small text files of an outbox directory (IDENTITY, ACKED): a first line
// naming the format and version, then exactly the expected "key=value" lines, in order, each
// ending in '\n' (keys added to a format later may be left off at the end). Values hold no '\n' or
// NUL. Strict, so garbage is never mistaken for data.
#ifndef OWSYNC_OUTBOX_KEY_VALUE_FILE_H_
#define OWSYNC_OUTBOX_KEY_VALUE_FILE_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace owsync::outbox {

class KeyValueFile {
 public:
  // The file text for `first_line` and the pairs.
  static std::string Format(std::string_view first_line,
                            const std::vector<std::pair<std::string, std::string>>& pairs);
  // The values of `keys`, in order, then of `optional_keys` ("" for each that is absent: they
  // may only be left off from the end, and were added to the format later). Corruption
  // (naming `what`) if the text is not exactly that.
  static Result<std::vector<std::string>> Parse(std::string_view text, std::string_view what,
                                                std::string_view first_line,
                                                const std::vector<std::string>& keys,
                                                const std::vector<std::string>& optional_keys = {});
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_KEY_VALUE_FILE_H_
