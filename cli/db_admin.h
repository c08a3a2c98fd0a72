// DbAdmin: the administrator's operations behind `owsync db`: apply the sql/ scripts (init),
// register a host with its own login role (add-host), and verify a database (check). Uses
// administrator credentials only for init and add-host; check works with any role.
#ifndef OWSYNC_CLI_DB_ADMIN_H_
#define OWSYNC_CLI_DB_ADMIN_H_

#include <string>
#include <string_view>
#include <vector>

#include "cli/schema_checker.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/logger.h"
#include "util/result.h"

namespace owsync::cli {

struct DbInitReport {
  bool changed = false;
  // "created table sync_metadata.hosts", "changed policy ...", ... (empty when unchanged).
  std::vector<std::string> changes;
};

struct AddHostRequest {
  std::string name;           // the host's name (hosts.hostname)
  std::string cluster;        // its HA cluster (hosts.cluster_name); "" = the host name
  std::string role;           // its login role; "" = owsync_host_<name>
  std::string password_file;  // where the generated password goes (mode 0600)
};

struct AddHostResult {
  std::string role;
  std::string host_id;
  std::string cluster;
};

class DbAdmin {
 public:
  // All pointers must outlive the DbAdmin; logger may be null.
  DbAdmin(FileSystem* fs, Clock* clock, Logger* logger) : fs_(fs), clock_(clock), logger_(logger) {}

  // Applies the embedded scripts in one transaction (serialized by an advisory lock). When the
  // catalog fingerprint is the same afterwards the transaction is rolled back: a second run
  // changes nothing and reports changed == false.
  Result<DbInitReport> Init(const std::string& admin_url);

  // Creates the host's login role (member of sync_service; its SCRAM verifier is computed
  // here, so the password never reaches the server) and its hosts row, and writes the random
  // password to request.password_file (mode 0600) before committing. Not idempotent by
  // design: AlreadyExists when the host or the role exists (nothing is changed, the password
  // file is not touched). FailedPrecondition when `db init` has not run.
  Result<AddHostResult> AddHost(const std::string& admin_url, const AddHostRequest& request);

  // Verifies the schema, roles and privileges (see SchemaChecker).
  Result<SchemaCheckReport> Check(const std::string& url);

  // The default login role of host `name`: "owsync_host_" + name lower-cased with '.' and '-'
  // as '_'. InvalidArgument for a name that is not a host name or a role over 63 bytes.
  static Result<std::string> DefaultRoleForHost(std::string_view name);
  // Validation of names given by the operator (InvalidArgument with the rule when wrong).
  [[nodiscard]] static Status ValidateHostName(std::string_view name);
  [[nodiscard]] static Status ValidateClusterName(std::string_view name);
  [[nodiscard]] static Status ValidateRoleName(std::string_view role);

 private:
  FileSystem* fs_;
  Clock* clock_;
  Logger* logger_;
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_DB_ADMIN_H_
