// DoubleText: the one way owsync spells a double as text: the shortest decimal that reads back
// as the same double (std::to_chars), NaN as "NaN" and the infinities as "Infinity" and
// "-Infinity" (PostgreSQL's float8 and numeric inputs accept these). The copy encoder writes
// reals into PostgreSQL with it; RowDigest renders a real stored in a text column with it.
#ifndef OWSYNC_CANONICAL_DOUBLE_TEXT_H_
#define OWSYNC_CANONICAL_DOUBLE_TEXT_H_

#include <string>

namespace owsync::canonical {

void AppendDoubleText(double d, std::string* out);

}  // namespace owsync::canonical

#endif  // OWSYNC_CANONICAL_DOUBLE_TEXT_H_
