// DemoMonitor: what `owsync demo` shows once a second: how far the tenant's outbox is durable
// (its DURABLE watermark, read like any reader does, without locks) and how far PostgreSQL
// acknowledged it (sync_metadata.tenant_offsets.acked_offset, read as the administrator), and
// how long ago the outbox was where PostgreSQL is now (the replication lag, to the resolution
// of the sampling). Also the dead letters and conflicts recorded for the tenant. Owns one
// PostgreSQL connection; used from one thread.
#ifndef OWSYNC_CLI_DEMO_MONITOR_H_
#define OWSYNC_CLI_DEMO_MONITOR_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "shipper/pg_connection.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::cli {

struct DemoOffsets {
  uint64_t durable = 0;    // outbox durable offset (0 before the first watermark)
  int64_t acked = 0;       // PostgreSQL's acknowledged offset
  int64_t lag_micros = 0;  // now minus when the outbox was last at or below `acked`
  bool caught_up() const { return acked >= 0 && static_cast<uint64_t>(acked) >= durable; }
};

struct DemoTenantCounts {
  int64_t dead_letters = 0;
  int64_t conflicts = 0;
};

class DemoMonitor {
 public:
  static Result<DemoMonitor> Connect(FileSystem* fs, Clock* clock, const std::string& admin_url,
                                     std::string client, std::string outbox_dir);

  // Reads both offsets now and remembers the durable one for the lag.
  Result<DemoOffsets> Sample();
  Result<DemoTenantCounts> TenantCounts();
  // Live rows in the tenant's tables (those with the sync columns), tombstones excluded.
  Result<int64_t> LiveRows();

 private:
  DemoMonitor(FileSystem* fs, Clock* clock, shipper::PgConnection conn, std::string client,
              std::string outbox_dir)
      : fs_(fs),
        clock_(clock),
        conn_(std::move(conn)),
        client_(std::move(client)),
        outbox_dir_(std::move(outbox_dir)) {}
  // The first value of `sql` as an integer (0 when no row or NULL); $1 = the client if asked.
  Result<int64_t> QueryInt(const std::string& sql, bool with_client = true);

  FileSystem* fs_;
  Clock* clock_;
  shipper::PgConnection conn_;
  std::string client_;
  std::string outbox_dir_;
  // (monotonic micros, durable offset) samples, oldest first, while the outbox was ahead.
  std::deque<std::pair<int64_t, uint64_t>> history_;
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_DEMO_MONITOR_H_
