#include "tests/pg_test_env.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>

#include "cli/db_admin.h"
#include "shipper/pg_url.h"
#include "util/scoped_temp_dir.h"

namespace owsync::tests {
namespace {

std::atomic<PgTestEnv*> g_env{nullptr};

constexpr int64_t kConnectMicros = 30'000'000;
constexpr int64_t kStatementMicros = 120'000'000;

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && v[0] != '\0') ? std::string(v) : fallback;
}

}  // namespace

PgTestEnv* PgTestEnv::Get() { return g_env.load(); }
void PgTestEnv::Install(PgTestEnv* env) { g_env.store(env); }

PgTestEnv::PgTestEnv()
    : fs_(NewPosixFileSystem()),
      clock_(NewSystemClock()),
      logger_(NewStderrLogger("pg-test", ParseLogLevel(EnvOr("LOG_LEVEL", "warn")))) {}

PgTestEnv::~PgTestEnv() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& name : run_databases_) databases_.push_back(std::move(name));
    run_databases_.clear();
  }
  DropTestDatabases();
  if (local_) {
    Status s = local_->Stop();
    if (!s.ok()) logger_->Error("stopping the test PostgreSQL: {}", s.ToString());
  }
}

Result<std::unique_ptr<PgTestEnv>> PgTestEnv::Create() {
  std::unique_ptr<PgTestEnv> env(new PgTestEnv());
  const std::string external = EnvOr("OWSYNC_TEST_PG_URL", "");
  if (!external.empty()) {
    env->admin_url_ = external;
    env->bindir_ = EnvOr("OWSYNC_TEST_PG_BINDIR", "/usr/lib/postgresql/15/bin");
  } else {
    cli::LocalPostgresOptions o;
    o.fs = env->fs_.get();
    o.clock = env->clock_.get();
    o.logger = env->logger_.get();
    OWSYNC_ASSIGN_OR_RETURN(env->local_, cli::LocalPostgres::Start(o));
    env->admin_url_ = env->local_->admin_url();
    env->bindir_ = env->local_->bindir();
  }
  OWSYNC_ASSIGN_OR_RETURN(shipper::PgUrl url, shipper::PgUrl::Parse(env->admin_url_));
  env->host_ = url.Get("host").value_or("127.0.0.1");
  env->port_ = std::atoi(url.Get("port").value_or("5432").c_str());
  // Prove the server answers before any test runs.
  OWSYNC_ASSIGN_OR_RETURN(shipper::PgConnection conn, env->ConnectAdmin(env->admin_url_));
  OWSYNC_RETURN_IF_ERROR(
      conn.Exec("SELECT 1", shipper::Deadline::After(env->clock(), kStatementMicros)).status());
  return env;
}

std::string PgTestEnv::UrlFor(const std::string& user, const std::optional<std::string>& password,
                              const std::string& dbname) const {
  auto url = shipper::PgUrl::Parse(admin_url_);
  if (!url.ok()) return admin_url_;  // Create() already parsed it
  shipper::PgUrl out = url->With("user", user).With("dbname", dbname);
  out = password.has_value() ? out.With("password", *password) : out.Without("password");
  return out.ToString();
}

std::string PgTestEnv::UniqueName(std::string_view prefix) {
  int n;
  {
    std::lock_guard<std::mutex> lock(mu_);
    n = ++counter_;
  }
  std::string name;
  for (char c : prefix) {
    const unsigned char u = static_cast<unsigned char>(c);
    name += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '_';
  }
  const std::string suffix = "_" + std::to_string(::getpid()) + "_" + std::to_string(n);
  if (name.size() + suffix.size() > 63) name.resize(63 - suffix.size());
  return name + suffix;
}

Result<TestHost> PgTestEnv::AddHost(const TestDatabase& db, std::string_view prefix,
                                    const std::string& cluster) {
  cli::DbAdmin admin(fs_.get(), clock_.get(), logger_.get());
  OWSYNC_RETURN_IF_ERROR(admin.Init(db.admin_url).status());
  OWSYNC_ASSIGN_OR_RETURN(ScopedTempDir tmp, ScopedTempDir::Create("owsync-host-"));
  TestHost h;
  h.name = UniqueName(prefix);
  OWSYNC_ASSIGN_OR_RETURN(cli::AddHostResult added,
                          admin.AddHost(db.admin_url, {h.name, cluster, "", tmp.Child("pw")}));
  OWSYNC_ASSIGN_OR_RETURN(std::string pw, ReadFileToString(fs_.get(), tmp.Child("pw")));
  while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
  h.cluster = added.cluster;
  h.role = added.role;
  h.host_id = added.host_id;
  h.password = pw;
  h.url = UrlFor(h.role, h.password, db.name);
  return h;
}

Result<shipper::PgConnection> PgTestEnv::ConnectAdmin(const std::string& url) {
  return shipper::PgConnection::Connect(clock_.get(), url,
                                        shipper::Deadline::After(clock_.get(), kConnectMicros));
}

Result<TestDatabase> PgTestEnv::CreateDatabase(std::string_view prefix, bool for_whole_run) {
  TestDatabase db;
  db.name = UniqueName(std::string("t_") + std::string(prefix));
  OWSYNC_ASSIGN_OR_RETURN(shipper::PgConnection conn, ConnectAdmin(admin_url_));
  OWSYNC_ASSIGN_OR_RETURN(std::string ident, conn.QuoteIdentifier(db.name));
  OWSYNC_RETURN_IF_ERROR(conn.Exec("CREATE DATABASE " + ident + " TEMPLATE template1",
                                   shipper::Deadline::After(clock_.get(), kStatementMicros))
                             .status()
                             .WithContext("creating test database " + db.name));
  {
    std::lock_guard<std::mutex> lock(mu_);
    (for_whole_run ? run_databases_ : databases_).push_back(db.name);
  }
  OWSYNC_ASSIGN_OR_RETURN(shipper::PgUrl admin, shipper::PgUrl::Parse(admin_url_));
  db.admin_url = admin.With("dbname", db.name).ToString();
  return db;
}

void PgTestEnv::DropTestDatabases() {
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(mu_);
    names.swap(databases_);
  }
  if (names.empty()) return;
  auto conn = ConnectAdmin(admin_url_);
  if (!conn.ok()) {
    logger_->Warn("cannot drop test databases: {}", conn.status().ToString());
    return;
  }
  for (const std::string& name : names) {
    auto ident = conn->QuoteIdentifier(name);
    if (!ident.ok()) continue;
    auto dropped = conn->Exec("DROP DATABASE IF EXISTS " + *ident + " WITH (FORCE)",
                              shipper::Deadline::After(clock_.get(), kStatementMicros));
    if (!dropped.ok()) logger_->Warn("dropping {}: {}", name, dropped.status().ToString());
  }
}

Result<std::unique_ptr<cli::LocalPostgres>> PgTestEnv::StartPrivatePostgres() {
  cli::LocalPostgresOptions o;
  o.fs = fs_.get();
  o.clock = clock_.get();
  o.logger = logger_.get();
  o.bindir = bindir_;
  return cli::LocalPostgres::Start(o);
}

Result<std::unique_ptr<cli::LocalPgBouncer>> PgTestEnv::StartPgBouncer(int default_pool_size) {
  cli::LocalPgBouncerOptions o;
  o.fs = fs_.get();
  o.clock = clock_.get();
  o.logger = logger_.get();
  o.server_host = host_;
  o.server_port = port_;
  OWSYNC_ASSIGN_OR_RETURN(shipper::PgUrl admin, shipper::PgUrl::Parse(admin_url_));
  o.admin_user = admin.Get("user").value_or("owsync_admin");
  o.default_pool_size = default_pool_size;
  return cli::LocalPgBouncer::Start(o);
}

void PgTestEnv::EmergencyStop() {
  if (local_) {
    auto ignored = local_->Stop(cli::StopMode::kImmediate);
    (void)ignored;
  }
}

}  // namespace owsync::tests
