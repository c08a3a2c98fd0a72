// SQL text helpers for building statements from names that come from the tenant's schema.
// Table and column names may contain quotes, spaces, unicode or be reserved words ("user",
// "group"): every identifier owsync puts into SQL goes through QuoteIdentifier, every string
// literal through QuoteLiteral. Values never go into SQL text: they are bound as parameters.
#ifndef OWSYNC_CAPTURE_SQL_QUOTE_H_
#define OWSYNC_CAPTURE_SQL_QUOTE_H_

#include <string>
#include <string_view>
#include <vector>

namespace owsync::capture {

// "name" with every " doubled: safe for any identifier.
std::string QuoteIdentifier(std::string_view name);
// 'text' with every ' doubled.
std::string QuoteLiteral(std::string_view text);
// "a", "b", "c"
std::string QuoteIdentifierList(const std::vector<std::string>& names);
// ASCII-case-insensitive equality and prefix test, as SQLite compares identifiers.
bool IdentifierEquals(std::string_view a, std::string_view b);
bool IdentifierHasPrefix(std::string_view name, std::string_view prefix);

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_SQL_QUOTE_H_
