// TenantCatalog: what the shipper knows of one tenant's tables: the SQLite columns (from the
// outbox's schema records, persisted in "<client>"._owsync_tables) and the PostgreSQL target
// columns (from pg_catalog), and how one maps onto the other. Owned by one TenantShipper;
// not thread-safe.
#ifndef OWSYNC_SHIPPER_TENANT_CATALOG_H_
#define OWSYNC_SHIPPER_TENANT_CATALOG_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "outbox/record.h"
#include "shipper/deadline.h"
#include "shipper/pg_connection.h"
#include "shipper/pg_type.h"
#include "util/result.h"

namespace owsync::shipper {

struct TargetColumn {
  std::string name;
  PgType type = PgType::kText;
  bool is_key = false;
};

// One replicated table: source (SQLite) columns, target (PostgreSQL) columns, the mapping.
struct TableMapping {
  std::string table;
  std::string qualified;  // "client"."table", quoted
  std::vector<TargetColumn> target;
  // Set once a schema record (or _owsync_tables) described the SQLite columns:
  bool has_source = false;
  std::vector<outbox::Column> source;
  std::vector<int> source_to_target;  // per source column: target index, or -1 (-> _owsync_extra)
  std::vector<int> key_target;        // target indexes of the key columns, in key order
  std::vector<std::string> quoted_target;  // quoted target column names
};

class TenantCatalog {
 public:
  // Reads the target tables of schema `client` and the saved SQLite schemas. NotFound when
  // the schema does not exist (the tenant is not provisioned).
  static Result<TenantCatalog> Load(PgConnection* conn, const std::string& client,
                                    Deadline deadline);

  // Re-reads only the target columns (after provision --migrate), keeping source schemas.
  [[nodiscard]] Status ReloadTargets(PgConnection* conn, Deadline deadline);

  // Takes a kSchema record: the table's SQLite columns from now on. FailedPrecondition naming
  // `owsync provision --migrate` when the table is not provisioned, or when its key differs
  // from the target's primary key.
  [[nodiscard]] Status ApplySchema(const outbox::Record& schema);

  // SQL that persists the table's SQLite schema into _owsync_tables (run inside the batch).
  Result<std::string> SaveSchemaSql(PgConnection* conn, const std::string& table,
                                    uint64_t offset) const;

  // The mapping of `table`, or null when the table is not provisioned.
  const TableMapping* Find(const std::string& table) const;

  const std::string& client() const { return client_; }
  const std::string& quoted_schema() const { return quoted_schema_; }

 private:
  [[nodiscard]] Status LoadTargets(PgConnection* conn, Deadline deadline);
  static void Remap(TableMapping* mapping);

  std::string client_;
  std::string quoted_schema_;
  std::map<std::string, TableMapping> tables_;
};

// Encodes / decodes the SQLite columns as saved in _owsync_tables.columns (a JSON array of
// {"name","type","key","not_null"}).
std::string ColumnsToJson(const std::vector<outbox::Column>& columns);
Result<std::vector<outbox::Column>> ColumnsFromJson(std::string_view json);

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_TENANT_CATALOG_H_
