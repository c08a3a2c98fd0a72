#include "shipper/shipper_session_mark.h"

namespace owsync::shipper {

int32_t ShipperSessionMark::TenantKey(const std::string& client) {
  uint32_t h = 2166136261u;
  for (unsigned char c : client) {
    h ^= c;
    h *= 16777619u;
  }
  return static_cast<int32_t>(h & 0x7fffffffu);
}

std::string ShipperSessionMark::TakeSql(const std::string& client) {
  return "SELECT pg_advisory_xact_lock_shared(" + std::to_string(kClass) + ", " +
         std::to_string(TenantKey(client)) + ")";
}

std::string ShipperSessionMark::HeldBySql(const std::string& pid_sql, const std::string& client) {
  return "EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = " + pid_sql +
         " AND l.locktype = 'advisory' AND l.classid = " + std::to_string(kClass) +
         " AND l.objid = " + std::to_string(TenantKey(client)) +
         " AND l.objsubid = 2 AND l.granted)";
}

}  // namespace owsync::shipper
