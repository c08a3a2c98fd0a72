// ShipperSessionMark: how a tenant's own shipping sessions are told from every other session
// on the server. Every shipping transaction (a batch, a claim) first takes a shared
// transaction-level advisory lock on (kClass, TenantKey(client)); it never waits (nobody takes
// that lock exclusively) and goes with the transaction, also through a transaction pooler.
// pg_locks shows it for the transaction's backend, whatever the session's application_name
// (which PostgreSQL cuts to 63 bytes and a URL may set to anything). A new leader's claim ends
// only the blockers that hold it (shipper/tenant_claim.h).
#ifndef OWSYNC_SHIPPER_SHIPPER_SESSION_MARK_H_
#define OWSYNC_SHIPPER_SHIPPER_SESSION_MARK_H_

#include <cstdint>
#include <string>

namespace owsync::shipper {

class ShipperSessionMark {
 public:
  // The first advisory-lock key: "owsh" (the lease's session lock uses the one-key form).
  static constexpr int32_t kClass = 0x6f777368;
  // The second key: FNV-1a of the client name, 31 bits (pg_locks shows keys as oids).
  static int32_t TenantKey(const std::string& client);
  // The statement that marks the current transaction as `client`'s shipper.
  static std::string TakeSql(const std::string& client);
  // A boolean SQL expression: backend `pid_sql` holds the mark of `client` now.
  static std::string HeldBySql(const std::string& pid_sql, const std::string& client);
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_SHIPPER_SESSION_MARK_H_
