// ShipConfig: the shipper's settings, read from the environment operators already use
// (../shared/reference/configuration.md: one env file per host) plus owsync's own variables.
// Every value is validated; a bad one is InvalidArgument naming the variable and the value
// (never the value of a secret). A variable set to "" counts as unset.
//
//   DATABASE_URL | DATABASE_URL_FILE   host role's URL (required; both set is an error; the
//                                      file is read through FileSystem, whitespace trimmed)
//   LOCK_DATABASE_URL[_FILE]           session-mode URL for the leader's advisory lock
//                                      (default DATABASE_URL, unless that is a transaction
//                                      pooler on port 6543); "none" or "off" turns the fast
//                                      path off (the lease alone decides failover)
//   HOST_NAME (gethostname) CLUSTER_NAME (HOST_NAME) ROLE (primary | secondary)
//   API_BIND (127.0.0.1) API_PORT (primary 9443, secondary 9444; 0 = any free port, logged)
//   API_TOKEN_FILE (bearer token
//   for mutating calls; without it they are refused) ENABLE_METRICS (true)
//   METRICS_PORT (API_PORT)
//   BATCH_SIZE rows per batch (5000: large enough that per-transaction costs — offset row,
//     staging tables, upsert planning — stay small next to COPY, small enough that a batch
//     commits within ~100 ms of message rows); BATCH_BYTES (8 MiB) ends a batch earlier
//     for large rows (a single larger row still ships, alone); SHIP_QUEUE_BYTES (24 MiB:
//     three batches, so the reader decodes ahead while one commits, and peak RSS stays
//     under 100 MB) bounds decoded records waiting between the reader and the writer.
//   Sizes: bytes, or with a binary suffix K/KB/KiB, M/MB/MiB, G/GB/GiB (all x1024).
//   LEASE_DURATION (10 s) HEARTBEAT_INTERVAL (lease / 3, below 80 % of the lease).
//   DEFAULT_SYNC_INTERVAL: 0 or "continuous" (default), hourly, daily, or a duration.
//   Durations: seconds (fractions allowed) or with a suffix ms, s, m, h.
#ifndef OWSYNC_SHIPPER_SHIP_CONFIG_H_
#define OWSYNC_SHIPPER_SHIP_CONFIG_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "util/file_system.h"
#include "util/result.h"

namespace owsync::shipper {

// Looks a variable up; nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
// The process environment (getenv).
EnvLookup ProcessEnvironment();

// A sync interval as operators write it (DEFAULT_SYNC_INTERVAL, a tenant's
// client_deployments.config->>'sync_interval'): "continuous" or 0, "hourly", "daily", or a
// duration ("60", "1m", "5m", "2h"). Microseconds; 0 = continuous. InvalidArgument otherwise.
Result<int64_t> ParseSyncInterval(std::string_view text);

struct ShipConfig {
  static constexpr int64_t kDefaultBatchRows = 5000;
  static constexpr int64_t kDefaultBatchBytes = int64_t{8} << 20;
  static constexpr int64_t kDefaultQueueBytes = int64_t{24} << 20;
  static constexpr int64_t kDefaultLeaseMicros = 10'000'000;

  std::string database_url;       // secret: print only through EffectiveConfigLines
  std::string database_url_from;  // "DATABASE_URL" or "DATABASE_URL_FILE (<path>)"
  std::string lock_database_url;  // secret; "" = advisory-lock fast path off
  std::string lock_database_url_from;
  std::string fast_path_off_reason;  // why lock_database_url is "" (for the log)
  std::string host_name;
  std::string cluster_name;
  std::string role = "primary";  // primary | secondary
  std::string api_bind = "127.0.0.1";
  int api_port = 9443;
  std::string api_token_file;  // "" = none
  bool enable_metrics = true;
  int metrics_port = 9443;
  int64_t batch_rows = kDefaultBatchRows;
  int64_t batch_bytes = kDefaultBatchBytes;
  int64_t queue_bytes = kDefaultQueueBytes;
  int64_t lease_micros = kDefaultLeaseMicros;
  int64_t heartbeat_micros = kDefaultLeaseMicros / 3;
  int64_t sync_interval_micros = 0;  // 0 = continuous

  // Variables the environment set (non-empty).
  std::set<std::string> set_variables;
  // Settings accepted but not acted on by this version (logged as warnings at start-up).
  std::vector<std::string> warnings;

  // InvalidArgument on the first bad or missing value; IOError/NotFound when a *_FILE
  // cannot be read.
  static Result<ShipConfig> FromEnvironment(const EnvLookup& env, FileSystem* fs);

  bool continuous() const { return sync_interval_micros == 0; }
  // "NAME=value" lines for the start-up log, secrets masked, defaults marked "(default)".
  std::vector<std::string> EffectiveConfigLines() const;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_SHIP_CONFIG_H_
