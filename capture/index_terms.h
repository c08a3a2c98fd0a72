// IndexTerms: reads the column list of a CREATE INDEX statement (as sqlite_schema keeps it)
// with SQLite's lexical rules (quoted identifiers in "", [] and ``, string literals, comments),
// and rewrites the column references of an index term to another row (NEW."email"). Capture
// uses it to build, for every UNIQUE index an INSERT OR REPLACE could delete rows through, a
// condition that finds those rows before SQLite deletes them (TriggerInstaller).
#ifndef OWSYNC_CAPTURE_INDEX_TERMS_H_
#define OWSYNC_CAPTURE_INDEX_TERMS_H_

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace owsync::capture {

class IndexTerms {
 public:
  // The terms of the index's column list, each without a trailing ASC/DESC ("lower(email)",
  // "\"name\" COLLATE NOCASE"). InvalidArgument when `create_index_sql` has no "ON table (...)"
  // list that closes.
  static Result<std::vector<std::string>> Parse(std::string_view create_index_sql);

  // `term` with every reference to one of `columns` (compared as SQLite compares identifiers)
  // replaced by `row`."column": a name followed by "(" is a function, one after "." belongs to
  // another qualifier, one after COLLATE is a collation and one after AS a type.
  static std::string Qualify(std::string_view term, const std::vector<std::string>& columns,
                             std::string_view row);
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_INDEX_TERMS_H_
