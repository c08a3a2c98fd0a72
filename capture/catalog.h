// Catalog: every user table of the tenant database as capture saw it at one schema_version:
// replicable ones with their keys, the others with the reason. Tables are sorted by name.
// Built by SchemaInspector; a value type, copied freely.
#ifndef OWSYNC_CAPTURE_CATALOG_H_
#define OWSYNC_CAPTURE_CATALOG_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "capture/table_info.h"

namespace owsync::capture {

struct Catalog {
  int64_t schema_version = -1;  // PRAGMA schema_version the catalog was read at
  std::vector<TableInfo> tables;

  // The table named exactly `name`, or nullptr.
  const TableInfo* Find(std::string_view name) const {
    for (const auto& t : tables) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }
  // The replicable table named `name`, or nullptr.
  const TableInfo* FindReplicable(std::string_view name) const {
    const TableInfo* t = Find(name);
    return (t != nullptr && t->replicable) ? t : nullptr;
  }
  std::vector<const TableInfo*> Replicable() const {
    std::vector<const TableInfo*> out;
    for (const auto& t : tables) {
      if (t.replicable) out.push_back(&t);
    }
    return out;
  }
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_CATALOG_H_
