// ApplyContext and the small value types shared by BatchApplier and TableApplier.
#ifndef OWSYNC_SHIPPER_APPLY_CONTEXT_H_
#define OWSYNC_SHIPPER_APPLY_CONTEXT_H_

#include <cstdint>
#include <string>

#include "outbox/record.h"
#include "util/clock.h"
#include "util/logger.h"

namespace owsync::shipper {

// What the appliers of one tenant need besides the connection. Owned by the TenantShipper.
struct ApplyContext {
  Clock* clock = nullptr;
  Logger* logger = nullptr;  // may be null
  std::string client;
  std::string deployment_id;  // "" when the offset row names none
  std::string outbox_id;
  int64_t statement_micros = 120'000'000;  // deadline of one statement (COPY of a large batch)
};

// A record PostgreSQL cannot take, and why. Written to sync_metadata.dead_letters.
struct DeadLetter {
  const outbox::Record* record = nullptr;
  std::string reason;
  std::string sqlstate;  // "" when owsync refused the value before PostgreSQL saw it
};

struct ApplyStats {
  int64_t upserts = 0;     // rows written or updated
  int64_t tombstones = 0;  // rows marked deleted (delete records and snapshot ends)
  int64_t skipped = 0;     // rows not applied: target newer (replay) or dirty (conflict)
  int64_t conflicts = 0;   // rows logged to conflict_log
  int64_t dead_letters = 0;
  int64_t direct_copies = 0;  // tables written by COPY straight into the target
  int64_t bisections = 0;
  int64_t bytes = 0;            // COPY bytes sent
  int64_t verified_ranges = 0;  // verify records compared (in-stream verification)
  int64_t drift_rows = 0;       // rows found different from SQLite there
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_APPLY_CONTEXT_H_
