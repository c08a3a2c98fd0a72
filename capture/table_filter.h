// TableFilter: which tables an operator wants replicated (--include / --exclude). An empty
// include list means every table. Names compare as SQLite compares identifiers (ASCII case
// does not matter). owsync's own tables (_owsync_*) and SQLite's (sqlite_*) are never
// replicated, whatever the lists say.
#ifndef OWSYNC_CAPTURE_TABLE_FILTER_H_
#define OWSYNC_CAPTURE_TABLE_FILTER_H_

#include <string>
#include <string_view>
#include <vector>

namespace owsync::capture {

class TableFilter {
 public:
  TableFilter() = default;
  TableFilter(std::vector<std::string> include, std::vector<std::string> exclude)
      : include_(std::move(include)), exclude_(std::move(exclude)) {}

  // Splits "a,b,c" (empty items dropped).
  static std::vector<std::string> SplitList(std::string_view list);
  // True for owsync's and SQLite's own tables.
  static bool IsInternal(std::string_view table);

  bool Includes(std::string_view table) const;
  const std::vector<std::string>& include() const { return include_; }
  const std::vector<std::string>& exclude() const { return exclude_; }

 private:
  std::vector<std::string> include_;
  std::vector<std::string> exclude_;
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_TABLE_FILTER_H_
