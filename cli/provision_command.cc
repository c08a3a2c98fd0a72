// `owsync provision`: creates or migrates one tenant's schema in PostgreSQL (TenantProvisioner)
// from the tenant's SQLite schema (--db) or from the schema records of its outbox (--outbox).
#include <CLI/CLI.hpp>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "capture/schema_inspector.h"
#include "capture/sqlite_db.h"
#include "capture/sqlite_txn.h"
#include "capture/table_filter.h"
#include "cli/cli_context.h"
#include "cli/database_url.h"
#include "outbox/outbox_reader.h"
#include "shipper/pg_connection.h"
#include "shipper/tenant_provisioner.h"

namespace owsync::cli {
namespace {

constexpr int64_t kConnectMicros = 30'000'000;

struct ProvisionArgs {
  std::string admin_url;
  std::string admin_url_file;
  std::string client;
  std::string host;
  std::string cluster;
  std::string db;
  std::string outbox;
  bool migrate = false;
};

int Fail(const Status& s) {
  std::cerr << "owsync provision: " << s.ToString() << "\n";
  return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

// The replicable tables of the SQLite database; the others are reported in *warnings.
Result<std::vector<shipper::ProvisionTable>> TablesFromDb(const std::string& path,
                                                          std::vector<std::string>* warnings) {
  capture::SqliteDbOptions options;
  options.read_only = true;
  OWSYNC_ASSIGN_OR_RETURN(capture::SqliteDb db, capture::SqliteDb::Open(path, options));
  OWSYNC_ASSIGN_OR_RETURN(capture::SqliteTxn txn, capture::SqliteTxn::BeginRead(&db));
  OWSYNC_ASSIGN_OR_RETURN(capture::Catalog catalog,
                          capture::SchemaInspector::Inspect(&db, capture::TableFilter()));
  txn.Rollback();
  std::vector<shipper::ProvisionTable> tables;
  for (const capture::TableInfo& t : catalog.tables) {
    if (t.replicable) {
      tables.push_back({t.name, t.columns});
    } else {
      warnings->push_back("table \"" + t.name + "\" is not replicated (" + t.reason +
                          "): not provisioned");
    }
  }
  return tables;
}

// The latest schema record of each table in the outbox (offline read: no watermark).
Result<std::vector<shipper::ProvisionTable>> TablesFromOutbox(FileSystem* fs,
                                                              const std::string& dir,
                                                              std::vector<std::string>* warnings) {
  OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<outbox::OutboxReader> reader,
                          outbox::OutboxReader::Open(
                              fs, dir, 0, outbox::OutboxReaderOptions{.ignore_watermark = true}));
  if (reader->first_retained_offset() > 1) {
    warnings->push_back("the outbox starts at offset " +
                        std::to_string(reader->first_retained_offset()) +
                        " (older segments were retired): a table whose schema record was only "
                        "in them is not seen; use --db to read the schema from SQLite");
  }
  std::map<std::string, std::vector<outbox::Column>> latest;
  outbox::Record record;
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(bool more, reader->Next(&record));
    if (!more) break;
    if (record.type == outbox::RecordType::kSchema) latest[record.table] = record.columns;
  }
  std::vector<shipper::ProvisionTable> tables;
  for (auto& [name, columns] : latest) {
    if (capture::TableFilter::IsInternal(name)) continue;
    tables.push_back({name, std::move(columns)});
  }
  if (tables.empty()) {
    return Status::FailedPrecondition("the outbox " + dir +
                                      " holds no schema record: nothing to provision from (has "
                                      "the capture run yet?)");
  }
  return tables;
}

int RunProvision(const ProvisionArgs& a, CliContext* ctx) {
  auto url = ResolveDatabaseUrl(
      {"--admin-url", a.admin_url, "--admin-url-file", a.admin_url_file, "ADMIN_DATABASE_URL"},
      ctx);
  if (!url.ok()) return Fail(url.status());
  std::vector<std::string> warnings;
  auto tables =
      a.db.empty() ? TablesFromOutbox(ctx->fs, a.outbox, &warnings) : TablesFromDb(a.db, &warnings);
  if (!tables.ok()) {
    return Fail(
        tables.status().WithContext("reading the schema of " + (a.db.empty() ? a.outbox : a.db)));
  }
  for (const std::string& w : warnings) ctx->logger->Warn("provision {}: {}", a.client, w);

  auto conn = shipper::PgConnection::Connect(
      ctx->clock, *url, shipper::Deadline::After(ctx->clock, kConnectMicros),
      {.application_name = "owsync provision", .logger = ctx->logger});
  if (!conn.ok()) return Fail(conn.status().WithContext("connecting as the administrator"));
  shipper::TenantProvisioner provisioner(ctx->clock, ctx->logger);
  shipper::ProvisionRequest request{a.client, a.host, a.cluster, std::move(*tables), a.migrate};
  auto report = provisioner.Provision(&*conn, request);
  if (!report.ok()) return Fail(report.status());

  for (const std::string& w : warnings) std::cout << "warning: " << w << "\n";
  for (const std::string& w : report->warnings) std::cout << "warning: " << w << "\n";
  if (!report->changed) {
    std::cout << "provision " << a.client << ": schema, " << request.tables.size()
              << " table(s), trigger, grants to " << report->role
              << " and registration are up to date; nothing changed (schema_version "
              << report->schema_version << ")\n";
    return 0;
  }
  for (const std::string& c : report->changes) std::cout << "  " << c << "\n";
  std::cout << "provision " << a.client << ": " << report->changes.size()
            << " change(s) committed; tables granted to " << report->role << ", deployment "
            << report->deployment_id << ", schema_version " << report->schema_version << "\n";
  return 0;
}

}  // namespace

void AddProvisionCommand(CLI::App* app, CliContext* ctx) {
  auto args = std::make_shared<ProvisionArgs>();
  CLI::App* sub = app->add_subcommand(
      "provision",
      "Create (or with --migrate, extend) a tenant's schema in PostgreSQL, as the administrator:\n"
      "the schema named after the client, one table per replicated SQLite table (same names,\n"
      "types mapped from the declared types, the SQLite key as primary key, every other column\n"
      "nullable) with the sync columns _owsync_offset, _owsync_deleted_at, _owsync_dirty and\n"
      "_owsync_extra, the trigger that marks rows changed by anyone but the shipper as dirty,\n"
      "lz4 TOAST compression where the server has it, SELECT/INSERT/UPDATE grants to the login\n"
      "role of the serving host only, and the tenant's client_deployments and tenant_offsets\n"
      "rows. Reads the schema from the SQLite database (--db) or from the schema records of the\n"
      "tenant's outbox (--outbox). One transaction; idempotent: a second run changes nothing\n"
      "and says so. Refuses client names PostgreSQL or Supabase own (public, auth, pg_*, ...),\n"
      "identifiers over 63 bytes and SQLite columns named _owsync_*. Tables without a usable\n"
      "key are not replicated by capture and are skipped with a warning.");
  sub->add_option("--admin-url", args->admin_url,
                  "Administrator URL of the database (never the runtime role). Must not contain "
                  "a password: use --admin-url-file or the environment. Default: "
                  "$ADMIN_DATABASE_URL, else the file named by $ADMIN_DATABASE_URL_FILE");
  sub->add_option("--admin-url-file", args->admin_url_file,
                  "File holding the administrator URL (may contain a password)");
  sub->add_option("--client", args->client,
                  "Tenant (client) name: names the schema; letters, digits, '_' and '-'")
      ->required();
  sub->add_option("--host", args->host,
                  "Host serving the tenant (registered with `owsync db add-host`): its login "
                  "role gets the grants")
      ->required();
  sub->add_option("--cluster", args->cluster,
                  "Cluster of --host, when the same host name is registered in several");
  auto* db = sub->add_option("--db", args->db, "The tenant's SQLite database (read only)");
  auto* ob = sub->add_option("--outbox", args->outbox,
                             "The tenant's outbox directory: the latest schema record of each "
                             "table is used (read offline, never locked)");
  db->excludes(ob);
  ob->excludes(db);
  sub->add_flag("--migrate", args->migrate,
                "Add tables and columns that appeared in SQLite since the tenant was "
                "provisioned, and move their values out of _owsync_extra (without marking rows "
                "dirty; waits for an in-flight shipping batch). Without it, a provisioned tenant "
                "whose SQLite schema grew is refused and nothing changes");
  sub->callback([args, ctx]() {
    if (args->db.empty() == args->outbox.empty()) {
      ctx->exit_code = Fail(Status::InvalidArgument("give exactly one of --db or --outbox"));
      return;
    }
    ctx->exit_code = RunProvision(*args, ctx);
  });
}

}  // namespace owsync::cli
