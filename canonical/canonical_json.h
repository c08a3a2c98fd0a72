// CanonicalJson: one spelling per JSON value as PostgreSQL's jsonb holds it, so that a JSON
// text from SQLite and the jsonb PostgreSQL made of it (jsonb::text) compare equal exactly when
// jsonb considers them equal. Rules (RFC 8259 input, strict):
//   - no whitespace; object members sorted by key (bytes, after unescaping); of duplicate keys
//     the last one is kept (as jsonb does);
//   - strings unescaped and written again escaping only '"', '\' and bytes below 0x20
//     (\u00xx); \u0000, lone surrogates and invalid UTF-8 are refused (jsonb refuses them);
//   - numbers by value, as jsonb's numeric compares them: digits without leading or trailing
//     zeros and an exponent ("1.50" and "15e-1" -> "15e-1", "100" -> "1e2", "-0.0" -> "0");
//   - true, false, null as they are.
// Nesting deeper than 1100 levels is refused (the copy encoder refuses more than 1024).
#ifndef OWSYNC_CANONICAL_CANONICAL_JSON_H_
#define OWSYNC_CANONICAL_CANONICAL_JSON_H_

#include <string>
#include <string_view>

#include "util/status.h"

namespace owsync::canonical {

// Appends the canonical form of `json` to *out. InvalidArgument (naming the byte offset) when
// `json` is not one valid JSON value; *out is then unchanged.
[[nodiscard]] Status AppendCanonicalJson(std::string_view json, std::string* out);

}  // namespace owsync::canonical

#endif  // OWSYNC_CANONICAL_CANONICAL_JSON_H_
