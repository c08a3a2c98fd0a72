// TableVerifier: the comparison of one replicated table for the Verifier (cli/verifier.h
// explains the method). Owns nothing: the PostgreSQL connection and the SQLite database (in
// its read transaction) belong to the Verifier. Each Verify runs in its own PostgreSQL
// transaction and rolls it back, so its TEMPORARY tables never outlive it.
#ifndef OWSYNC_CLI_TABLE_VERIFIER_H_
#define OWSYNC_CLI_TABLE_VERIFIER_H_

#include <string>
#include <vector>

#include "capture/sqlite_db.h"
#include "capture/table_info.h"
#include "cli/verifier.h"
#include "shipper/deadline.h"
#include "shipper/pg_connection.h"
#include "shipper/pg_type.h"
#include "util/status.h"

namespace owsync::cli {

class TableVerifier {
 public:
  TableVerifier(shipper::PgConnection* conn, Clock* clock, const VerifyOptions& options)
      : conn_(conn), clock_(clock), options_(options) {}

  // Compares `table` into *out. Differences and table-level problems (not provisioned, a
  // key column missing, COPY refused by the server) go into *out; errors are for what stops
  // the whole run: the connection, a permission, the SQLite read.
  [[nodiscard]] Status Verify(capture::SqliteDb* db, const capture::TableInfo& table,
                              VerifyTable* out);

 private:
  // How one SQLite column is loaded and compared.
  struct ColumnPlan {
    std::string name;
    std::string quoted;
    bool key = false;
    bool in_target = false;   // else compared with _owsync_extra -> name
    std::string target_type;  // format_type() of the target column ("jsonb" for extras)
    shipper::PgType type = shipper::PgType::kText;
  };

  shipper::Deadline NewDeadline() const;
  [[nodiscard]] Status Exec(const std::string& sql);
  // Reads the target's columns into plan_; false (with out->problem set) when the table
  // cannot be compared.
  Result<bool> Plan(const capture::TableInfo& table, VerifyTable* out);
  // Streams the SQLite rows into the staging table; false (problem set) when the server
  // refused the COPY.
  Result<bool> Load(capture::SqliteDb* db, const capture::TableInfo& table, VerifyTable* out);
  // Encodes one SQLite row as a COPY line into *line.
  void EncodeRow(const std::vector<outbox::Value>& row, std::string* line) const;
  [[nodiscard]] Status Compare(VerifyTable* out);

  // SQL fragments over the plan: a column as compared, on the staging ("s") or target ("t")
  // side.
  std::string SourceExpr(const ColumnPlan& c, const char* alias) const;
  std::string TargetExpr(const ColumnPlan& c, const char* alias) const;
  std::string KeyJoin(const char* left, bool left_target, const char* right) const;

  shipper::PgConnection* conn_;
  Clock* clock_;
  const VerifyOptions& options_;
  std::string qualified_;  // "client"."table"
  std::vector<ColumnPlan> plan_;
  std::vector<int> key_columns_;  // indexes into plan_, in key order
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_TABLE_VERIFIER_H_
