// RecordJson: records as JSON, for `owsync outbox dump --json` and tools in other languages
// (the mapping is specified in docs/outbox-format.md). Exact both ways:
//   NULL -> null; integer -> JSON integer; real -> {"real": "<shortest round-trip decimal>"}
//   ("-0", "inf", "-inf"; NaN is {"real": "nan", "bits": "<16 hex digits>"}); text -> a JSON
//   string when it is valid UTF-8, else {"text_base64": "..."}; blob -> {"blob_base64": "..."}.
// Table, column names and declared types are texts encoded the same way.
#ifndef OWSYNC_OUTBOX_RECORD_JSON_H_
#define OWSYNC_OUTBOX_RECORD_JSON_H_

#include <string>
#include <string_view>

#include "outbox/record.h"
#include "util/result.h"

namespace owsync::outbox {

class RecordJson {
 public:
  // One line, no trailing newline: {"offset":..,"source_seq":..,"type":"upsert","table":..,
  // "key":[..],"row":[..],"columns":[..],"snapshot_begin_offset":..} (empty fields left out).
  static std::string ToJson(const Record& record);
  // The inverse of ToJson. InvalidArgument saying what is wrong.
  static Result<Record> FromJson(std::string_view json);
  // One human-readable line: "12 upsert chat seq=5 key=[..] row=[..]" (values as in JSON).
  static std::string ToText(const Record& record);

  // Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
  static bool IsValidUtf8(std::string_view s);
  static std::string Base64(std::string_view bytes);
  static Result<std::string> FromBase64(std::string_view text);
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_RECORD_JSON_H_
