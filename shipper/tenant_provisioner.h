// TenantProvisioner: creates and migrates one tenant's schema in PostgreSQL (what
// `owsync provision` does, as the administrator): the schema named after the client, one table
// per replicated SQLite table (types by PgTypeForDeclared, the SQLite key as primary key, the
// sync columns), the dirty trigger, lz4 TOAST compression where the server has it, the grants
// to the serving host's role, and the tenant's client_deployments and tenant_offsets rows
// (docs: notes/shipper-spec.md "Tenant schema").
//
// Everything happens in ONE transaction: either all of it is committed or nothing is. Only
// what is missing is created, so a second run changes nothing (and rolls back, saying so).
// A tenant that is already provisioned gains new tables and columns only with `migrate`;
// migrating also moves the values of newly added columns out of `_owsync_extra` (values that do
// not fit the column's type stay there and are reported). Migration runs with
// `owsync.applying = on` (rows are not marked dirty) and holds the tenant's offset-row lock,
// so it never interleaves with a shipping batch. Whenever the tenant's tables changed,
// tenant_offsets.schema_version is incremented (the shipper re-reads its target columns).
#ifndef OWSYNC_SHIPPER_TENANT_PROVISIONER_H_
#define OWSYNC_SHIPPER_TENANT_PROVISIONER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "outbox/record.h"
#include "shipper/pg_connection.h"
#include "util/clock.h"
#include "util/logger.h"
#include "util/result.h"

namespace owsync::shipper {

struct ProvisionTable {
  std::string name;                     // exactly as SQLite spells it
  std::vector<outbox::Column> columns;  // in table order; key_position gives the key
};

struct ProvisionRequest {
  std::string client;   // the tenant; names its schema
  std::string host;     // sync_metadata.hosts.hostname of the host serving the tenant
  std::string cluster;  // its cluster_name; "" = the only host of that name
  std::vector<ProvisionTable> tables;
  bool migrate = false;  // allow adding tables and columns to a provisioned tenant
};

struct ProvisionReport {
  bool changed = false;
  // What was created or changed, one line each: "created schema \"acme\"", "created table
  // \"acme\".\"chat\" (11 columns)", "added column ...", "moved 3 values of ... out of
  // _owsync_extra", "granted ...", "registered ...". Empty when nothing changed.
  std::vector<std::string> changes;
  // Tables skipped (no usable key), values left in _owsync_extra, target columns whose type
  // differs from the mapping (left as they are), ...
  std::vector<std::string> warnings;
  int64_t schema_version = 0;  // tenant_offsets.schema_version after the run
  std::string role;            // the login role that got the grants
  std::string deployment_id;
};

struct ProvisionOptions {
  int64_t statement_micros = 300'000'000;  // deadline of each statement (moves can be long)
};

class TenantProvisioner {
 public:
  // `clock` and `logger` (may be null) must outlive the provisioner.
  TenantProvisioner(Clock* clock, Logger* logger, ProvisionOptions options = {})
      : clock_(clock), logger_(logger), options_(options) {}

  // Provisions (or, with request.migrate, migrates) the tenant over `admin`, an administrator
  // connection outside any transaction. Errors, nothing changed in each case:
  //   InvalidArgument: a reserved or malformed client name, an identifier over 63 bytes or not
  //     UTF-8, a SQLite column named _owsync_*, duplicate table names;
  //   NotFound: the host is not registered (`owsync db add-host`);
  //   FailedPrecondition: `owsync db init` has not run; the tenant is registered to another
  //     host; the schema exists but is not an owsync tenant schema; a table's key differs from
  //     its primary key in PostgreSQL; new tables or columns without `migrate` (the message
  //     lists them and names --migrate);
  //   anything PostgreSQL reports (classified by shipper/pg_error.h).
  Result<ProvisionReport> Provision(PgConnection* admin, const ProvisionRequest& request);

 private:
  Clock* clock_;
  Logger* logger_;
  ProvisionOptions options_;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_TENANT_PROVISIONER_H_
