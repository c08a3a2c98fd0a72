// FailoverAudit: what the shipper nodes of an HA pair committed, recorded by PostgreSQL itself
// through test-only triggers (installed as the administrator, SECURITY DEFINER, schema
// owsync_audit), for the failover tests and the failover benchmark:
//  - offset log: every committed UPDATE of a tenant's offset row (sync_metadata.tenant_offsets)
//    — takeover claims and batches — with the epoch, the acked offset before and after, the
//    time of the COMMIT (a deferred constraint trigger: clock_timestamp() as the transaction
//    commits), the backend pid and application_name. Rows of rolled-back transactions never
//    appear, and `seq` follows the row lock, so the log is the commit order of the row;
//  - lease log: every acquisition, renewal and release of a lease row
//    (sync_metadata.leader_election), with its epoch, holder, expiry and lock_pid;
//  - regressions: every UPDATE of a tenant's target table that lowers _owsync_offset (a row
//    going back to an older version), with a liveness proof of that detector.
// Times are the server's clock in microseconds since the Unix epoch. Not thread-safe (one
// administrator connection, reconnected after an error).
#ifndef OWSYNC_TESTS_FAILOVER_AUDIT_H_
#define OWSYNC_TESTS_FAILOVER_AUDIT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "shipper/pg_connection.h"
#include "util/clock.h"
#include "util/result.h"

namespace owsync::tests {

struct OffsetLogRow {
  int64_t seq = 0;
  std::string client;
  int64_t epoch = 0, old_epoch = 0;
  int64_t old_acked = 0, new_acked = 0;
  int64_t at_micros = 0;  // the COMMIT (server clock)
  int backend_pid = 0;
  std::string application_name;
  bool is_batch() const { return new_acked != old_acked; }
};

struct LeaseLogRow {
  int64_t seq = 0;
  std::string cluster, leader_id;
  int64_t epoch = 0;
  int64_t old_epoch = 0;  // 0 for the row's INSERT
  int64_t expires_micros = 0;
  std::optional<int> lock_pid;
  int64_t at_micros = 0;
};

class FailoverAudit {
 public:
  FailoverAudit(Clock* clock, std::string admin_url);

  // Creates the audit schema and the offset and lease triggers (once per database).
  [[nodiscard]] Status Install();
  // Installs the regression detector on every table of the tenant's schema; how many tables.
  Result<int> InstallRegressionDetector(const std::string& client_schema);

  Result<std::vector<OffsetLogRow>> OffsetLog(const std::string& client, int64_t after_seq = 0);
  Result<std::vector<LeaseLogRow>> LeaseLog(const std::string& cluster, int64_t after_seq = 0);
  // "table: offset 12 -> 9, row (...)" per regression, oldest first (at most 20).
  Result<std::vector<std::string>> Regressions();
  // Lowers one row's offset inside a rolled-back transaction: OK when the detector saw it.
  [[nodiscard]] Status ProveRegressionDetectorLive(const std::string& client_schema);
  // The server's clock_timestamp().
  Result<int64_t> ServerNowMicros();
  // Any statement as the administrator on this object's connection.
  Result<shipper::PgResult> Query(const std::string& sql,
                                  const std::vector<std::optional<std::string>>& params = {});

  // Violations of the offset log's invariants, in seq order: the epoch never decreases, the
  // acked offset never decreases, and each row continues the previous one (old values equal
  // the previous row's new values: the log misses no committed update).
  static std::vector<std::string> CheckOffsetLog(const std::vector<OffsetLogRow>& rows);
  // Violations of "a leader commits nothing after its lease ended": a commit of epoch E later
  // than the expiry of E's last lease row (renewal or release). Epochs without a lease row
  // are violations too.
  static std::vector<std::string> CheckCommitsWithinLease(const std::vector<OffsetLogRow>& rows,
                                                          const std::vector<LeaseLogRow>& leases);
  // The pid in a node id "<host>:<role>:<pid>:<hex>" (leader_election.leader_id), or -1.
  static int PidOfNodeId(const std::string& node_id);
  // The first row with an epoch above `epoch` (batches only when `batch_only`).
  static std::optional<OffsetLogRow> FirstAbove(const std::vector<OffsetLogRow>& rows,
                                                int64_t epoch, bool batch_only = false);

 private:
  Result<shipper::PgConnection*> Connection();

  Clock* clock_;
  std::string admin_url_;
  std::optional<shipper::PgConnection> conn_;
};

}  // namespace owsync::tests

#endif  // OWSYNC_TESTS_FAILOVER_AUDIT_H_
