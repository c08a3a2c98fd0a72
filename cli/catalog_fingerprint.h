// CatalogFingerprint: a description of everything owsync's sql/ scripts create or change, read
// from the catalog: the sync_metadata objects (tables, columns, defaults, constraints, indexes,
// triggers, views, policies, functions, sequences, with owners, ACLs and options), the public
// schema's ACL, the sync_service role and its grants, and this database's ACL. Two equal
// fingerprints mean the scripts changed nothing; the keys that differ say what changed.
#ifndef OWSYNC_CLI_CATALOG_FINGERPRINT_H_
#define OWSYNC_CLI_CATALOG_FINGERPRINT_H_

#include <map>
#include <string>
#include <vector>

#include "shipper/deadline.h"
#include "shipper/pg_connection.h"
#include "util/result.h"

namespace owsync::cli {

// Object ("table sync_metadata.hosts", "column sync_metadata.hosts.status", ...) -> its
// definition.
using CatalogFingerprint = std::map<std::string, std::string>;

Result<CatalogFingerprint> ReadCatalogFingerprint(shipper::PgConnection* conn,
                                                  shipper::Deadline deadline);

// "created X" / "changed X" / "removed X" for each object that differs, in key order.
std::vector<std::string> DiffFingerprints(const CatalogFingerprint& before,
                                          const CatalogFingerprint& after);

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_CATALOG_FINGERPRINT_H_
