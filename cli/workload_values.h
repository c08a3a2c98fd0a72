// WorkloadValues: makes the values the workload generator writes — shaped like Open WebUI's
// (chat JSON of 1–50 KB, ~400-byte messages, epoch timestamps, 0/1 booleans) and, at a
// configurable rate, odd ones: NUL bytes in text, invalid UTF-8, blobs in text columns,
// NaN/±inf/-0.0, INT64 min/max and values of the wrong type for the declared column type.
// Draws only from the WorkloadRandom it is given, so it is deterministic from the seed.
#ifndef OWSYNC_CLI_WORKLOAD_VALUES_H_
#define OWSYNC_CLI_WORKLOAD_VALUES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "cli/workload_random.h"
#include "cli/workload_schema.h"
#include "outbox/value.h"

namespace owsync::cli {

class WorkloadValues {
 public:
  // `rng` is not owned and must outlive this. `odd_rate` in [0, 1]: share of odd values.
  WorkloadValues(WorkloadRandom* rng, double odd_rate) : rng_(rng), odd_rate_(odd_rate) {}

  // A value for non-key column `column` of `table`; values of secondary-unique columns are
  // fresh (never collide by chance). `*odd` tells whether an odd value was chosen.
  outbox::Value ForColumn(const WorkloadTable& table, int column, int64_t now_seconds, bool* odd);
  // A fresh key (never used before, barring a 2^-100 chance).
  std::vector<outbox::Value> NewKey(const WorkloadTable& table);
  // A fresh value for key column `column` (used for key changes).
  outbox::Value NewKeyValue(const WorkloadTable& table, int column);

 private:
  outbox::Value Regular(const WorkloadTable& table, int column, int64_t now_seconds);
  outbox::Value Odd(const WorkloadColumn& column);
  std::string Uuid();
  std::string Words(size_t target_bytes);
  std::string ChatJson(size_t target_bytes);
  std::string SmallJson(size_t target_bytes);

  WorkloadRandom* rng_;
  double odd_rate_;
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_WORKLOAD_VALUES_H_
