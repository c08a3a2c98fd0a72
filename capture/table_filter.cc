#include "capture/table_filter.h"

#include "capture/sql_quote.h"

namespace owsync::capture {

std::vector<std::string> TableFilter::SplitList(std::string_view list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view item = list.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    start = comma + 1;
  }
  return out;
}

bool TableFilter::IsInternal(std::string_view table) {
  return IdentifierHasPrefix(table, "sqlite_") || IdentifierHasPrefix(table, "_owsync_");
}

bool TableFilter::Includes(std::string_view table) const {
  if (IsInternal(table)) return false;
  for (const auto& e : exclude_) {
    if (IdentifierEquals(e, table)) return false;
  }
  if (include_.empty()) return true;
  for (const auto& i : include_) {
    if (IdentifierEquals(i, table)) return true;
  }
  return false;
}

}  // namespace owsync::capture
