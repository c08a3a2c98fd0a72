#include "cli/verifier.h"

#include <algorithm>
#include <memory>

#include "capture/schema_inspector.h"
#include "capture/sql_quote.h"
#include "capture/sqlite_db.h"
#include "capture/sqlite_txn.h"
#include "cli/table_verifier.h"
#include "outbox/outbox_reader.h"
#include "shipper/pg_connection.h"
#include "shipper/tenant_name.h"

namespace owsync::cli {
namespace {

constexpr int64_t kConnectMicros = 30'000'000;
constexpr int64_t kPollMicros = 200'000;

// Reads the client's offset row into *report, and, with an outbox, whether PostgreSQL has
// acknowledged everything durable in it; waits up to options.wait_micros for that.
Status CheckCaughtUp(shipper::PgConnection* conn, FileSystem* fs, Clock* clock,
                     const VerifyOptions& options, VerifyReport* report) {
  std::unique_ptr<outbox::OutboxReader> reader;
  if (!options.outbox_dir.empty()) {
    OWSYNC_ASSIGN_OR_RETURN(reader, outbox::OutboxReader::Open(fs, options.outbox_dir, 0));
    report->checked_outbox = true;
    report->outbox_id = reader->outbox_id();
  }
  const int64_t give_up = clock->MonotonicMicros() + std::max<int64_t>(options.wait_micros, 0);
  for (;;) {
    OWSYNC_ASSIGN_OR_RETURN(
        shipper::PgResult res,
        conn->ExecParams("SELECT acked_offset, outbox_id FROM sync_metadata.tenant_offsets "
                         "WHERE client_name = $1",
                         {options.client},
                         shipper::Deadline::After(clock, options.statement_timeout_micros)));
    if (res.rows() == 0) {
      return Status::FailedPrecondition(
          "no sync_metadata.tenant_offsets row for client '" + options.client +
          "' is visible to this role: the tenant is not provisioned (owsync provision), or "
          "another host serves it");
    }
    report->acked_offset = std::atoll(std::string(res.GetValue(0, 0)).c_str());
    report->acked_outbox_id = res.IsNull(0, 1) ? "" : std::string(res.GetValue(0, 1));
    if (reader == nullptr) return Status::OK();
    OWSYNC_ASSIGN_OR_RETURN(report->durable_offset, reader->RefreshWatermark());
    const bool same_outbox = report->acked_outbox_id == report->outbox_id;
    report->caught_up =
        report->durable_offset == 0 ||
        (same_outbox && static_cast<uint64_t>(report->acked_offset) >= report->durable_offset);
    if (report->caught_up) return Status::OK();
    const int64_t now = clock->MonotonicMicros();
    if (now >= give_up) break;
    clock->SleepForMicros(std::min(kPollMicros, give_up - now));
  }
  if (!report->acked_outbox_id.empty() && report->acked_outbox_id != report->outbox_id) {
    report->not_caught_up = "not caught up: PostgreSQL acknowledged outbox " +
                            report->acked_outbox_id + " but " + options.outbox_dir + " is outbox " +
                            report->outbox_id + " (a new outbox generation: owsync tenant rebase " +
                            options.client + ")";
  } else {
    report->not_caught_up = "not caught up: acked " + std::to_string(report->acked_offset) +
                            " of " + std::to_string(report->durable_offset);
  }
  return Status::OK();
}

// Tables of the tenant schema that SQLite does not have (dropped there, or never there).
Status NoteTargetOnlyTables(shipper::PgConnection* conn, Clock* clock, const VerifyOptions& options,
                            const capture::Catalog& catalog, VerifyReport* report) {
  OWSYNC_ASSIGN_OR_RETURN(
      shipper::PgResult res,
      conn->ExecParams("SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace "
                       "n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN "
                       "('r', 'p') AND left(c.relname, 8) <> '_owsync_' ORDER BY 1",
                       {options.client},
                       shipper::Deadline::After(clock, options.statement_timeout_micros)));
  for (int i = 0; i < res.rows(); ++i) {
    const std::string name(res.GetValue(i, 0));
    if (catalog.Find(name) != nullptr) continue;
    report->notes.push_back("table " + capture::QuoteIdentifier(name) +
                            " exists in PostgreSQL but not in SQLite: not compared");
  }
  return Status::OK();
}

}  // namespace

int64_t VerifyReport::Differences() const {
  int64_t n = 0;
  for (const VerifyTable& t : tables) n += t.differences + (t.replicated && !t.problem.empty());
  return n;
}

int64_t VerifyReport::Tolerated() const {
  int64_t n = 0;
  for (const VerifyTable& t : tables) n += t.dead_letters + t.conflicts;
  return n;
}

int VerifyReport::ExitCode(bool strict) const {
  if (!caught_up) return 3;
  if (Differences() > 0) return 1;
  return strict && Tolerated() > 0 ? 1 : 0;
}

Result<VerifyReport> Verifier::Run(const VerifyOptions& options) {
  OWSYNC_RETURN_IF_ERROR(shipper::TenantName::ValidateClientName(options.client));
  if (options.db_path.empty()) return Status::InvalidArgument("no SQLite database (--db)");
  shipper::PgConnectOptions connect_options;
  connect_options.application_name = "owsync verify";
  connect_options.logger = logger_;
  OWSYNC_ASSIGN_OR_RETURN(
      shipper::PgConnection conn,
      shipper::PgConnection::Connect(
          clock_, options.url, shipper::Deadline::After(clock_, kConnectMicros), connect_options));
  VerifyReport report;
  OWSYNC_RETURN_IF_ERROR(CheckCaughtUp(&conn, fs_, clock_, options, &report));
  if (!report.caught_up) return report;

  capture::SqliteDbOptions db_options;
  db_options.read_only = true;
  OWSYNC_ASSIGN_OR_RETURN(capture::SqliteDb db,
                          capture::SqliteDb::Open(options.db_path, db_options));
  // One snapshot of the whole database: every table is compared as of the same instant.
  OWSYNC_ASSIGN_OR_RETURN(capture::SqliteTxn txn, capture::SqliteTxn::BeginRead(&db));
  OWSYNC_ASSIGN_OR_RETURN(capture::Catalog catalog, capture::SchemaInspector::Inspect(&db, {}));
  TableVerifier verifier(&conn, clock_, options);
  for (const capture::TableInfo& t : catalog.tables) {
    VerifyTable table;
    table.table = t.name;
    if (!t.replicable) {
      table.replicated = false;
      table.problem = t.reason;
    } else {
      OWSYNC_RETURN_IF_ERROR(verifier.Verify(&db, t, &table));
    }
    if (logger_ != nullptr) {
      logger_->Log(LogLevel::kDebug, "verify " + options.client + "." + t.name + ": " +
                                         std::to_string(table.rows) + " rows, " +
                                         std::to_string(table.differences) + " differences");
    }
    report.tables.push_back(std::move(table));
  }
  OWSYNC_RETURN_IF_ERROR(NoteTargetOnlyTables(&conn, clock_, options, catalog, &report));
  txn.Rollback();
  return report;
}

}  // namespace owsync::cli
