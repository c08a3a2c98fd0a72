// SchemaChecker: what `owsync db check` verifies against a live database, as any role (it only
// reads the catalog): every sync_metadata table with its columns and types, the three views
// and their security_invoker option, the epoch sequence, the triggers, row-level security
// enabled with policies on every table, the SECURITY DEFINER helpers with a pinned
// search_path, the sync_service role and the privileges it needs; and that neither
// sync_service nor any member role (the hosts) holds a forbidden privilege: DELETE, TRUNCATE,
// REFERENCES or TRIGGER on sync_metadata, INSERT or table-wide UPDATE on hosts, CREATE on any
// schema or the database, ownership of anything, or a dangerous role attribute.
#ifndef OWSYNC_CLI_SCHEMA_CHECKER_H_
#define OWSYNC_CLI_SCHEMA_CHECKER_H_

#include <string>
#include <vector>

#include "shipper/deadline.h"
#include "shipper/pg_connection.h"
#include "util/result.h"

namespace owsync::cli {

struct SchemaCheckReport {
  int checks = 0;                     // how many facts were verified
  std::vector<std::string> problems;  // one line per missing or wrong object; empty when OK
};

class SchemaChecker {
 public:
  // Errors only when the catalog cannot be read; what is wrong is in the report.
  static Result<SchemaCheckReport> Run(shipper::PgConnection* conn, shipper::Deadline deadline);
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_SCHEMA_CHECKER_H_
