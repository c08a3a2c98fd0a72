// The sql/*.sql scripts, embedded into the binary at build time (cli/embed_sql.cmake), in file
// name order: 01-init-sync-schema.sql, 02-roles.sql, 03-rls.sql. `owsync db init` applies them.
#ifndef OWSYNC_CLI_EMBEDDED_SQL_H_
#define OWSYNC_CLI_EMBEDDED_SQL_H_

#include <span>
#include <string_view>

namespace owsync::cli {

struct EmbeddedSqlScript {
  std::string_view name;  // file name, e.g. "02-roles.sql"
  std::string_view text;
};

std::span<const EmbeddedSqlScript> EmbeddedSqlScripts();

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_EMBEDDED_SQL_H_
