// Where a command gets a PostgreSQL URL from, and the rule that keeps secrets out of argv.
// Sources, first match wins: the URL option (--admin-url), its file option (--admin-url-file),
// the environment variable (ADMIN_DATABASE_URL), then the variable naming a file
// (ADMIN_DATABASE_URL_FILE). A URL given on the command line that carries a password is
// refused: argv is visible to every local user.
#ifndef OWSYNC_CLI_DATABASE_URL_H_
#define OWSYNC_CLI_DATABASE_URL_H_

#include <string>

#include "cli/cli_context.h"
#include "util/result.h"

namespace owsync::cli {

struct DatabaseUrlSource {
  std::string option;       // e.g. "--admin-url"
  std::string value;        // the option's value ("" when not given)
  std::string file_option;  // e.g. "--admin-url-file"
  std::string file;         // the file option's value ("" when not given)
  std::string env;          // e.g. "ADMIN_DATABASE_URL" (also read as <env>_FILE)
};

// The URL (file contents without trailing whitespace). InvalidArgument when none is given,
// when two command-line sources are given, or when the option's URL carries a password.
Result<std::string> ResolveDatabaseUrl(const DatabaseUrlSource& source, CliContext* ctx);

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_DATABASE_URL_H_
