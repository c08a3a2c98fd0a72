// `owsync db init|add-host|check`: provisioning of the sync_metadata schema (DbAdmin).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>

#include "cli/cli_context.h"
#include "cli/database_url.h"
#include "cli/db_admin.h"

namespace owsync::cli {
namespace {

constexpr const char* kAdminUrlHelp =
    "Administrator URL of the database (owner of sync_metadata; never the runtime role). "
    "Must not contain a password: use --admin-url-file or the environment for that. Default: "
    "$ADMIN_DATABASE_URL, else the file named by $ADMIN_DATABASE_URL_FILE";

struct DbArgs {
  std::string admin_url;
  std::string admin_url_file;
  std::string url;
  std::string url_file;
  bool verbose = false;
  AddHostRequest host;
};

void AddAdminUrlOptions(CLI::App* sub, DbArgs* args) {
  sub->add_option("--admin-url", args->admin_url, kAdminUrlHelp);
  sub->add_option("--admin-url-file", args->admin_url_file,
                  "File holding the administrator URL (may contain a password)");
}

Result<std::string> AdminUrl(const DbArgs& args, CliContext* ctx) {
  return ResolveDatabaseUrl({"--admin-url", args.admin_url, "--admin-url-file", args.admin_url_file,
                             "ADMIN_DATABASE_URL"},
                            ctx);
}

int Fail(const char* command, const Status& s) {
  std::cerr << "owsync db " << command << ": " << s.ToString() << "\n";
  return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

int RunInit(const DbArgs& args, CliContext* ctx) {
  auto url = AdminUrl(args, ctx);
  if (!url.ok()) return Fail("init", url.status());
  DbAdmin admin(ctx->fs, ctx->clock, ctx->logger);
  auto report = admin.Init(*url);
  if (!report.ok()) return Fail("init", report.status());
  if (!report->changed) {
    std::cout << "db init: sync_metadata schema, roles and row-level security are up to date; "
                 "nothing changed\n";
    return 0;
  }
  // "created table sync_metadata.hosts" -> counts per (verb, kind), listed in first-seen order.
  std::vector<std::pair<std::string, int>> counts;
  for (const std::string& change : report->changes) {
    if (args.verbose) std::cout << "  " << change << "\n";
    const size_t verb_end = change.find(' ');
    const size_t kind_end = change.find(' ', verb_end + 1);
    const std::string key = change.substr(0, kind_end);
    auto it = std::find_if(counts.begin(), counts.end(), [&](auto& c) { return c.first == key; });
    if (it == counts.end()) {
      counts.emplace_back(key, 1);
    } else {
      ++it->second;
    }
  }
  std::cout << "db init: applied 01-init-sync-schema.sql, 02-roles.sql, 03-rls.sql:";
  const char* sep = " ";
  for (const auto& [key, n] : counts) {
    std::cout << sep << key << " x" << n;
    sep = ", ";
  }
  std::cout << (args.verbose ? "\n" : " (--verbose lists them)\n");
  return 0;
}

int RunAddHost(const DbArgs& args, CliContext* ctx) {
  auto url = AdminUrl(args, ctx);
  if (!url.ok()) return Fail("add-host", url.status());
  DbAdmin admin(ctx->fs, ctx->clock, ctx->logger);
  auto added = admin.AddHost(*url, args.host);
  if (!added.ok()) return Fail("add-host", added.status());
  std::cerr << "db add-host: host '" << args.host.name << "' (cluster '" << added->cluster
            << "', host_id " << added->host_id << ") logs in as role " << added->role
            << "; its password is in " << args.host.password_file << " (mode 0600)\n";
  std::cout << added->role << "\n";
  return 0;
}

int RunCheck(const DbArgs& args, CliContext* ctx) {
  auto url =
      ResolveDatabaseUrl({"--url", args.url, "--url-file", args.url_file, "DATABASE_URL"}, ctx);
  if (!url.ok()) return Fail("check", url.status());
  DbAdmin admin(ctx->fs, ctx->clock, ctx->logger);
  auto report = admin.Check(*url);
  if (!report.ok()) return Fail("check", report.status());
  for (const std::string& p : report->problems) std::cout << p << "\n";
  if (report->problems.empty()) {
    std::cout << "db check: OK (" << report->checks << " checks passed)\n";
    return 0;
  }
  std::cout << "db check: " << report->problems.size() << " problem(s) found\n";
  return 1;
}

}  // namespace

void AddDbCommands(CLI::App* app, CliContext* ctx) {
  auto args = std::make_shared<DbArgs>();
  CLI::App* db = app->add_subcommand(
      "db",
      "Provision and verify the PostgreSQL side: the sync_metadata schema, the runtime "
      "roles and row-level security");
  db->require_subcommand(1);

  CLI::App* init = db->add_subcommand(
      "init",
      "Create or update the sync_metadata schema (sql/01-init-sync-schema.sql), the\n"
      "sync_service group role (02-roles.sql) and row-level security (03-rls.sql), embedded in\n"
      "this binary. Idempotent: runs in one transaction and rolls back when nothing differs,\n"
      "saying so. Needs the administrator (owner) credentials.");
  AddAdminUrlOptions(init, args.get());
  init->add_flag("--verbose", args->verbose, "List every created or changed catalog object");
  init->callback([args, ctx]() { ctx->exit_code = RunInit(*args, ctx); });

  CLI::App* add = db->add_subcommand(
      "add-host",
      "Register a host: a row in sync_metadata.hosts and its own login role (member of\n"
      "sync_service, SCRAM password), which row-level security binds it to. The random\n"
      "password is written to --password-file (mode 0600) and never printed; the role name is\n"
      "printed on stdout. Fails, changing nothing, if the host or the role already exists.");
  add->add_option("name", args->host.name, "Host name (hosts.hostname)")->required();
  add->add_option("--cluster", args->host.cluster,
                  "Cluster (HA pair lease name, hosts.cluster_name); default: the host name");
  add->add_option("--role", args->host.role, "Login role; default: owsync_host_<name>");
  add->add_option("--password-file", args->host.password_file,
                  "Where to write the generated password (created or replaced, mode 0600)")
      ->required();
  AddAdminUrlOptions(add, args.get());
  add->callback([args, ctx]() { ctx->exit_code = RunAddHost(*args, ctx); });

  CLI::App* check = db->add_subcommand(
      "check",
      "Verify the database: every sync_metadata table, column, view (security_invoker),\n"
      "trigger, sequence and row-level-security policy, and that sync_service and the host\n"
      "roles hold no forbidden privilege (DELETE, TRUNCATE, CREATE anywhere, ownership, ...).\n"
      "Prints one line per problem; exits 1 if there is any. Works with any role.");
  check->add_option("--url", args->url,
                    "URL of the database (no password; default: $DATABASE_URL, else the file "
                    "named by $DATABASE_URL_FILE)");
  check->add_option("--url-file", args->url_file, "File holding the URL (may contain a password)");
  check->callback([args, ctx]() { ctx->exit_code = RunCheck(*args, ctx); });
}

}  // namespace owsync::cli
