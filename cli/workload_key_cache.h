// WorkloadKeyCache: the keys the workload generator believes exist, per table, so it can pick
// rows to update or delete without querying. It may hold keys whose rows are gone (an
// INSERT OR REPLACE victim it did not see, a migration): statements on them change nothing,
// and the generator then forgets them. Deterministic: insertion order, swap-remove.
#ifndef OWSYNC_CLI_WORKLOAD_KEY_CACHE_H_
#define OWSYNC_CLI_WORKLOAD_KEY_CACHE_H_

#include <sqlite3.h>

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "cli/workload_random.h"
#include "cli/workload_schema.h"
#include "outbox/value.h"
#include "util/status.h"

namespace owsync::cli {

class WorkloadKeyCache {
 public:
  using Key = std::vector<outbox::Value>;

  // Replaces the keys of `table` with those in the database, in key order.
  [[nodiscard]] Status Load(sqlite3* db, const WorkloadTable& table);
  void DropTable(const std::string& table) { tables_.erase(table); }
  void Add(const std::string& table, const Key& key);
  void Remove(const std::string& table, const Key& key);
  size_t Size(const std::string& table) const;
  // A uniformly chosen key of `table`; Size(table) must be > 0.
  const Key& Pick(const std::string& table, WorkloadRandom* rng) const;

  // An exact byte encoding of a key (type tags included), for maps.
  static std::string Encode(const Key& key);

 private:
  struct Keys {
    std::vector<Key> list;
    std::unordered_map<std::string, size_t> index;
  };
  std::map<std::string, Keys> tables_;
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_WORKLOAD_KEY_CACHE_H_
