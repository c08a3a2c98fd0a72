// TenantName: the rules for names `owsync provision` puts into PostgreSQL. A client name
// becomes the tenant's schema; SQLite table and column names become PostgreSQL identifiers
// exactly as SQLite spells them (quoted). Every rule refuses with InvalidArgument and a message
// that names the offending name and the rule; nothing is ever silently truncated or renamed.
#ifndef OWSYNC_SHIPPER_TENANT_NAME_H_
#define OWSYNC_SHIPPER_TENANT_NAME_H_

#include <string_view>

#include "util/status.h"

namespace owsync::shipper {

class TenantName {
 public:
  // PostgreSQL's identifier limit (NAMEDATALEN - 1): longer names would be truncated.
  static constexpr size_t kMaxIdentifierBytes = 63;

  // A client name: 1..63 bytes of ASCII letters, digits, '_' and '-', starting with a letter
  // or a digit (it also names the container `openwebui-<client>` and the outbox directory),
  // and not a schema PostgreSQL or Supabase owns (IsReservedSchemaName).
  [[nodiscard]] static Status ValidateClientName(std::string_view client);

  // True for schema names PostgreSQL or Supabase own, compared ignoring ASCII case: public,
  // auth, storage, extensions, realtime, graphql*, pg_*, information_schema, sync_metadata,
  // vault, supabase_*, cron, net, pgsodium*, pgbouncer.
  static bool IsReservedSchemaName(std::string_view name);

  // A table or column name from SQLite: not empty, at most 63 bytes, valid UTF-8 without NUL
  // bytes. `what` names it in the message ("table \"chat\" column").
  [[nodiscard]] static Status ValidateIdentifier(std::string_view what, std::string_view name);

  // A replicated table's name: ValidateIdentifier, and not owsync's own (`_owsync_*`).
  [[nodiscard]] static Status ValidateTableName(std::string_view table);
  // A replicated column's name: ValidateIdentifier, and not `_owsync_*` (the sync columns).
  [[nodiscard]] static Status ValidateColumnName(std::string_view table, std::string_view column);

  // True when `name` starts with "_owsync_" (ASCII case ignored).
  static bool IsOwsyncName(std::string_view name);
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_TENANT_NAME_H_
