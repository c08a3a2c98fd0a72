// KeyValueFile: the small text files of an outbox directory (IDENTITY, ACKED): a first line
// naming the format and version, then exactly the expected "key=value" lines, in order, each
// ending in '\n'. Values hold no '\n' or NUL. Strict, so garbage is never mistaken for data.
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
  // The values of `keys`, in order. Corruption (naming `what`) if the text is not exactly that.
  static Result<std::vector<std::string>> Parse(std::string_view text, std::string_view what,
                                                std::string_view first_line,
                                                const std::vector<std::string>& keys);
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_KEY_VALUE_FILE_H_
