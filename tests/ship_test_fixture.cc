#include "tests/ship_test_fixture.h"

#include <csignal>
#include <fstream>
#include <sstream>

#include "capture/sql_quote.h"
#include "cli/child_process.h"
#include "cli/workload_generator.h"

namespace owsync::tests {

void ShipTestFixture::SetUp() {
  env_ = PgTestEnv::Get();
  auto db = env_->CreateDatabase("ship");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  pg_ = *db;
  auto host = env_->AddHost(*pg_, "h");
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  host_ = *host;
  runtime_url_ = host_->url;
  if (UsePgBouncer()) {
    auto bouncer = env_->StartPgBouncer();
    ASSERT_TRUE(bouncer.ok()) << bouncer.status().ToString();
    bouncer_ = std::move(*bouncer);
    runtime_url_ = bouncer_->UrlFor(host_->role, host_->password, pg_->name);
  }
  client_ = env_->UniqueName("acme");
  auto dir = ScopedTempDir::Create("owsync-ship-");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  dir_.emplace(std::move(*dir));
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &db_), SQLITE_OK);
  Sql("PRAGMA journal_mode=WAL");
}

void ShipTestFixture::TearDown() {
  if (db_ != nullptr) sqlite3_close(db_);
  db_ = nullptr;
  bouncer_.reset();
}

void ShipTestFixture::Sql(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  ASSERT_EQ(rc, SQLITE_OK) << (err ? err : "") << "\nin: " << sql.substr(0, 300);
}

void ShipTestFixture::InitFromFixture(const std::string& name) {
  auto sql = cli::WorkloadGenerator::FixtureSql(name);
  ASSERT_TRUE(sql.ok()) << sql.status().ToString();
  Sql(*sql);
}

CliRun ShipTestFixture::Owsync(const std::vector<std::string>& args,
                               const std::map<std::string, std::string>& env) {
  return OwsyncWithin(args, 0, env);
}

CliRun ShipTestFixture::OwsyncWithin(const std::vector<std::string>& args, int64_t timeout_micros,
                                     const std::map<std::string, std::string>& env) {
  // The real binary in a child process: its own signals, threads and exit.
  cli::ChildProcessOptions o;
  o.argv = {OWSYNC_BINARY_PATH};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.env = OwsyncEnvironment(env);
  std::string out_path = dir_->Child("cli-" + std::to_string(++runs_) + ".log");
  o.output_path = out_path;
  CliRun run;
  auto child = cli::ChildProcess::Start(o);
  EXPECT_TRUE(child.ok()) << child.status().ToString();
  if (!child.ok()) return run;
  if (timeout_micros > 0) {
    auto status = child->WaitFor(env_->clock(), timeout_micros);
    EXPECT_TRUE(status.ok()) << status.status().ToString();
    if (status.ok()) run.exit_code = status->has_value() ? cli::ExitCodeOf(**status) : -2;
    if (status.ok() && !status->has_value()) {
      ADD_FAILURE() << "owsync " << args.front() << " still ran after " << timeout_micros / 1000000
                    << " s: killed";
      (void)child->Signal(SIGKILL);
      (void)child->Wait();
    }
  } else {
    auto status = child->Wait();
    EXPECT_TRUE(status.ok()) << status.status().ToString();
    if (status.ok()) run.exit_code = cli::ExitCodeOf(*status);
  }
  std::ifstream in(out_path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  run.out = text.str();
  run.err = run.out;  // one file holds both streams
  return run;
}

std::vector<std::string> ShipTestFixture::OwsyncEnvironment(
    const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> e = {
      {"DATABASE_URL", runtime_url_},
      {"ADMIN_DATABASE_URL", pg_->admin_url},
      {"HOST_NAME", host_->name},
      {"CLUSTER_NAME", host_->cluster},
      {"LEASE_DURATION", "3"},
      {"LOG_LEVEL", "warn"},
      {"API_PORT", "0"}};  // tests run side by side: any free port
  // Only a transaction pooler is configured: advisory locks cannot be trusted there.
  if (bouncer_) e["LOCK_DATABASE_URL"] = "none";
  for (const auto& [k, v] : env) e[k] = v;
  std::vector<std::string> overrides;
  for (const auto& [k, v] : e) overrides.push_back(k + "=" + v);
  return cli::EnvironmentWith(overrides, {"DATABASE_URL_FILE", "ADMIN_DATABASE_URL_FILE",
                                          "LOCK_DATABASE_URL*", "ROLE", "BATCH_*"});
}

Result<cli::ChildProcess> ShipTestFixture::StartOwsync(
    const std::vector<std::string>& args, const std::string& log_name,
    const std::map<std::string, std::string>& env) {
  cli::ChildProcessOptions o;
  o.argv = {OWSYNC_BINARY_PATH};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.env = OwsyncEnvironment(env);
  o.output_path = dir_->Child(log_name);
  o.parent_death_signal = SIGKILL;  // started from the test's thread: dies with the test
  return cli::ChildProcess::Start(o);
}

CliRun ShipTestFixture::Provision(bool migrate) {
  std::vector<std::string> args = {"provision", "--client", client_,  "--host",
                                   host_->name, "--db",     db_path()};
  if (migrate) args.push_back("--migrate");
  return Owsync(args);
}

CliRun ShipTestFixture::Capture() {
  return Owsync(
      {"capture", "--db", db_path(), "--outbox", outbox_dir(), "--client", client_, "--once"});
}

CliRun ShipTestFixture::Ship() {
  return Owsync({"ship", "--outbox-root", outbox_root(), "--once", "--lease-wait", "30"});
}

CliRun ShipTestFixture::Verify(bool strict) {
  std::vector<std::string> args = {"verify", "--db",     db_path(),   "--client",
                                   client_,  "--outbox", outbox_dir()};
  if (strict) args.push_back("--strict");
  return Owsync(args);
}

Rows ShipTestFixture::Query(const std::string& sql,
                            const std::vector<std::optional<std::string>>& params) {
  Rows rows;
  auto conn = env_->ConnectAdmin(pg_->admin_url);
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  if (!conn.ok()) return rows;
  auto res = conn->ExecParams(sql, params, shipper::Deadline::After(env_->clock(), 60'000'000));
  EXPECT_TRUE(res.ok()) << res.status().ToString() << "\nin: " << sql;
  if (!res.ok()) return rows;
  for (int r = 0; r < res->rows(); ++r) {
    std::vector<std::optional<std::string>> row;
    for (int c = 0; c < res->columns(); ++c) row.push_back(res->GetOptional(r, c));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string ShipTestFixture::Table(const std::string& table) {
  return capture::QuoteIdentifier(client_) + "." + capture::QuoteIdentifier(table);
}

ShipTestFixture::VerifyCounts ShipTestFixture::ExpectOnlyUnseenDeletes(
    const cli::VerifyReport& report, const std::set<std::string>& victim_keys) {
  VerifyCounts c;
  for (const cli::VerifyTable& t : report.tables) {
    c.rows += t.rows;
    c.dead_letters += t.dead_letters;
    EXPECT_TRUE(t.problem.empty()) << t.table << ": " << t.problem;
    for (const cli::VerifyRow& r : t.rows_reported) {
      if (!r.tolerated.empty()) continue;
      const bool victim = r.kind == "extra" && victim_keys.count(t.table + " " + r.record_key);
      EXPECT_TRUE(victim) << t.table << ": " << r.kind << " " << r.record_key << ": " << r.detail;
      c.unseen_deletes += victim ? 1 : 0;
    }
  }
  EXPECT_EQ(report.Differences(), c.unseen_deletes);
  return c;
}

}  // namespace owsync::tests
