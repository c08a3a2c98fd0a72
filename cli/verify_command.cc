// `owsync verify`: compares a tenant's SQLite database with its copy in PostgreSQL row by row
// (cli/verifier.h). Exit codes: 0 equal (dead letters and pending conflicts listed but allowed
// unless --strict), 1 differences, 2 bad arguments or an error (connection, permission),
// 3 PostgreSQL has not caught up with the outbox (--outbox, after --wait).
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>

#include "cli/cli_context.h"
#include "cli/database_url.h"
#include "cli/verifier.h"

namespace owsync::cli {
namespace {

struct VerifyArgs {
  std::string db;
  std::string client;
  std::string to;
  std::string to_file;
  std::string outbox;
  double wait_seconds = 0;
  bool strict = false;
  size_t max_report = 20;
};

const char* KindText(const std::string& kind) {
  if (kind == "missing") return "missing in PostgreSQL";
  if (kind == "tombstoned") return "alive in SQLite, tombstoned in PostgreSQL";
  if (kind == "different") return "different";
  if (kind == "extra") return "live in PostgreSQL, not in SQLite";
  return "value refused";
}

void PrintTable(const VerifyTable& t) {
  if (!t.replicated) {
    std::cout << "table " << t.table << ": not replicated: " << t.problem << "\n";
    return;
  }
  if (!t.problem.empty()) {
    std::cout << "table " << t.table << ": DIFFERENT: " << t.problem << "\n";
    return;
  }
  std::cout << "table " << t.table << ": " << t.rows << " rows compared, " << t.equal << " equal, "
            << t.differences << " differences, " << t.dead_letters << " dead letters, "
            << t.conflicts << " pending conflicts\n";
  if (!t.extra_columns.empty()) {
    std::cout << "  columns compared with _owsync_extra (not provisioned yet; owsync provision "
                 "--migrate moves them):";
    for (const std::string& c : t.extra_columns) std::cout << " " << c;
    std::cout << "\n";
  }
  for (const VerifyRow& r : t.rows_reported) {
    std::cout << "  "
              << (r.tolerated.empty() ? "" : r.tolerated + " (" + r.tolerated_reason + "), ")
              << KindText(r.kind) << " " << r.record_key;
    if (!r.detail.empty()) std::cout << ": " << r.detail;
    if (r.kind == "refused" && r.tolerated.empty()) std::cout << " (and no dead letter records it)";
    std::cout << "\n";
  }
  const int64_t listed = static_cast<int64_t>(t.rows_reported.size());
  const int64_t total = t.differences + t.dead_letters + t.conflicts;
  if (total > listed)
    std::cout << "  ... " << (total - listed) << " more not listed (--max-report)\n";
}

int Run(const VerifyArgs& args, CliContext* ctx) {
  auto url = ResolveDatabaseUrl({"--to", args.to, "--to-file", args.to_file, "DATABASE_URL"}, ctx);
  if (!url.ok()) {
    std::cerr << "owsync verify: " << url.status().ToString() << "\n";
    return 2;
  }
  VerifyOptions options;
  options.db_path = args.db;
  options.client = args.client;
  options.url = *url;
  options.outbox_dir = args.outbox;
  options.wait_micros = static_cast<int64_t>(args.wait_seconds * 1e6);
  options.max_report = args.max_report;
  Verifier verifier(ctx->fs, ctx->clock, ctx->logger);
  auto report = verifier.Run(options);
  if (!report.ok()) {
    std::cerr << "owsync verify: " << report.status().ToString() << "\n";
    return 2;
  }
  std::cout << "verify " << args.client << ": PostgreSQL acknowledged offset "
            << report->acked_offset;
  if (!report->acked_outbox_id.empty()) std::cout << " of outbox " << report->acked_outbox_id;
  if (report->checked_outbox) {
    std::cout << "; the outbox is durable up to " << report->durable_offset;
  }
  std::cout << "\n";
  if (!report->caught_up) {
    std::cout << "verify " << args.client << ": " << report->not_caught_up
              << " (nothing compared; wait longer with --wait SECONDS)\n";
    return report->ExitCode(args.strict);
  }
  for (const VerifyTable& t : report->tables) PrintTable(t);
  for (const std::string& note : report->notes) std::cout << "note: " << note << "\n";
  int64_t rows = 0;
  for (const VerifyTable& t : report->tables) rows += t.rows;
  const int code = report->ExitCode(args.strict);
  std::cout << "verify " << args.client << ": " << (code == 0 ? "EQUAL" : "DIFFERENT") << " ("
            << report->tables.size() << " tables, " << rows << " rows; " << report->Differences()
            << " differences, " << report->Tolerated() << " dead letters or pending conflicts"
            << (args.strict ? ", which --strict counts as differences" : "") << ")\n";
  return code;
}

}  // namespace

void AddVerifyCommand(CLI::App* app, CliContext* ctx) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* sub = app->add_subcommand(
      "verify",
      "Compare a tenant's SQLite database with its copy in PostgreSQL, row by row.\n"
      "Every replicated table is compared with \"<client>\".\"<table>\" (tombstoned rows\n"
      "excluded): keys and every value, exactly (doubles to the bit, -0 and NaN included; jsonb\n"
      "semantically, as PostgreSQL stores it). SQLite is read in one read transaction (run it on\n"
      "a quiet tenant: in journal_mode=DELETE that read holds back the application's commits);\n"
      "rows are streamed through a TEMPORARY table, so memory stays small. Rows listed in\n"
      "sync_metadata.dead_letters or with a pending conflict are reported as such and do not\n"
      "fail the check unless --strict. With --outbox it first checks (waiting up to --wait)\n"
      "that PostgreSQL acknowledged everything durable in the outbox.\n"
      "Exit codes: 0 equal, 1 differences, 2 usage or connection error, 3 not caught up.");
  sub->add_option("--db", args->db, "The tenant's SQLite database (webui.db), opened read-only")
      ->required();
  sub->add_option("--client", args->client, "Client name (its PostgreSQL schema)")->required();
  sub->add_option("--to", args->to,
                  "PostgreSQL URL of the runtime role, without a password (default: "
                  "$DATABASE_URL, else the file named by $DATABASE_URL_FILE)");
  sub->add_option("--to-file", args->to_file, "File holding the URL (may contain a password)");
  sub->add_option("--outbox", args->outbox,
                  "The tenant's outbox directory: compare only once PostgreSQL acknowledged "
                  "its durable offset (same outbox id)");
  sub->add_option("--wait", args->wait_seconds,
                  "Seconds to wait for PostgreSQL to catch up with --outbox (default 0: check "
                  "once)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--strict", args->strict,
                "Fail (exit 1) on dead letters and pending conflicts too");
  sub->add_option("--max-report", args->max_report,
                  "Rows listed per table, for differences and for dead letters/conflicts "
                  "each (default 20)")
      ->check(CLI::PositiveNumber);
  sub->callback([args, ctx]() { ctx->exit_code = Run(*args, ctx); });
}

}  // namespace owsync::cli
