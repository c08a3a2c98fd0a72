// `owsync db init | add-host | check` against a real server, each test in its own database.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "cli/db_admin.h"
#include "shipper/pg_connection.h"
#include "shipper/pg_error.h"
#include "shipper/pg_url.h"
#include "tests/cli_runner.h"
#include "tests/pg_test_env.h"
#include "util/scoped_temp_dir.h"

namespace owsync::cli {
namespace {

using shipper::Deadline;
using shipper::PgConnection;
using tests::PgTestEnv;

bool Contains(const std::vector<std::string>& lines, const std::string& needle) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

class DbInitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = PgTestEnv::Get();
    ASSERT_NE(env_, nullptr);
    auto db = env_->CreateDatabase("dbinit");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    auto tmp = ScopedTempDir::Create("owsync-dbinit-");
    ASSERT_TRUE(tmp.ok());
    tmp_.emplace(std::move(*tmp));
    admin_ = std::make_unique<DbAdmin>(env_->fs(), env_->clock(), env_->logger());
  }
  Deadline In(int64_t micros) { return Deadline::After(env_->clock(), micros); }
  PgConnection AdminConn() {
    auto conn = env_->ConnectAdmin(db_.admin_url);
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    return std::move(conn).value();
  }
  std::string Query(PgConnection* conn, const std::string& sql) {
    auto res = conn->Exec(sql, In(30'000'000));
    EXPECT_TRUE(res.ok()) << sql << ": " << res.status().ToString();
    return res.ok() && res->rows() > 0 ? std::string(res->GetValue(0, 0)) : "";
  }
  tests::CliRun Cli(const std::vector<std::string>& args,
                    std::map<std::string, std::string> env = {}) {
    return tests::RunCli(args, env_->fs(), env_->clock(), env_->logger(), env);
  }

  PgTestEnv* env_ = nullptr;
  tests::TestDatabase db_;
  std::optional<ScopedTempDir> tmp_;
  std::unique_ptr<DbAdmin> admin_;
};

TEST_F(DbInitTest, InitCreatesEveryObjectAndCheckPasses) {
  auto report = admin_->Init(db_.admin_url);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->changed);
  EXPECT_TRUE(Contains(report->changes, "created table sync_metadata.tenant_offsets"));
  EXPECT_TRUE(Contains(report->changes, "created view sync_metadata.v_cluster_health"));

  // Seen directly in the catalog, independently of the checker.
  PgConnection conn = AdminConn();
  EXPECT_EQ(Query(&conn,
                  "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class "
                  "WHERE relnamespace = 'sync_metadata'::regnamespace AND relkind = 'r'"),
            "cache_events,client_deployments,cluster_nodes,conflict_log,dead_letters,drift_log,"
            "hosts,leader_election,sync_jobs,sync_progress,tenant_offsets");
  EXPECT_EQ(Query(&conn,
                  "SELECT string_agg(relname || ':' || array_to_string(reloptions, ';'), ',' "
                  "ORDER BY relname) FROM pg_class "
                  "WHERE relnamespace = 'sync_metadata'::regnamespace AND relkind = 'v'"),
            "v_active_sync_jobs:security_invoker=true,v_cluster_health:security_invoker=true,"
            "v_recent_conflicts:security_invoker=true");
  EXPECT_EQ(Query(&conn,
                  "SELECT count(*) FROM pg_class WHERE relnamespace = "
                  "'sync_metadata'::regnamespace AND relkind = 'r' AND relrowsecurity"),
            "11");
  EXPECT_EQ(Query(&conn,
                  "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
                  "attrelid = 'sync_metadata.leader_election'::regclass AND attname = "
                  "'lease_expires_at'"),
            "timestamp with time zone");
  EXPECT_EQ(Query(&conn, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'sync_service'"), "f");
  EXPECT_EQ(Query(&conn, "SELECT has_schema_privilege('public', 'public', 'CREATE')"), "f");
  // Each acquisition draws a new epoch from the global sequence.
  Query(&conn,
        "INSERT INTO sync_metadata.leader_election (cluster_name, leader_id, expires_at) "
        "VALUES ('c1', 'n1', now() + interval '1 minute'), "
        "('c2', 'n2', now() + interval '1 minute')");
  EXPECT_EQ(Query(&conn, "SELECT count(DISTINCT epoch) FROM sync_metadata.leader_election"), "2");

  auto check = admin_->Check(db_.admin_url);
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_TRUE(check->problems.empty()) << ::testing::PrintToString(check->problems);
  EXPECT_GT(check->checks, 100);
}

TEST_F(DbInitTest, SecondInitChangesNothingAndSaysSo) {
  auto first = Cli({"db", "init"}, {{"ADMIN_DATABASE_URL", db_.admin_url}});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("applied"), std::string::npos) << first.out;

  PgConnection conn = AdminConn();
  // Row versions of everything the scripts touch: unchanged if nothing was written.
  const std::string versions_sql =
      "SELECT (SELECT string_agg(relname || ':' || xmin, ',' ORDER BY relname) FROM pg_class "
      "        WHERE relnamespace = 'sync_metadata'::regnamespace) || '|' || "
      "       (SELECT string_agg(proname || ':' || xmin, ',' ORDER BY proname) FROM pg_proc "
      "        WHERE pronamespace = 'sync_metadata'::regnamespace) || '|' || "
      "       (SELECT string_agg(polname || ':' || xmin, ',' ORDER BY polname) FROM pg_policy) "
      "       || '|' || (SELECT xmin FROM pg_authid WHERE rolname = 'sync_service') || '|' || "
      "       (SELECT xmin FROM pg_namespace WHERE nspname = 'public') || '|' || "
      "       (SELECT xmin FROM pg_database WHERE datname = current_database())";
  const std::string before = Query(&conn, versions_sql);
  ASSERT_FALSE(before.empty());

  auto second = Cli({"db", "init"}, {{"ADMIN_DATABASE_URL", db_.admin_url}});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("nothing changed"), std::string::npos) << second.out;
  EXPECT_EQ(Query(&conn, versions_sql), before);

  auto report = admin_->Init(db_.admin_url);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->changed);
  EXPECT_TRUE(report->changes.empty()) << ::testing::PrintToString(report->changes);
}

TEST_F(DbInitTest, CheckNamesEachDroppedOrWeakenedObjectAndInitRepairsThem) {
  ASSERT_TRUE(admin_->Init(db_.admin_url).ok());
  PgConnection conn = AdminConn();
  Query(&conn,
        "DROP VIEW sync_metadata.v_recent_conflicts;"
        "ALTER VIEW sync_metadata.v_active_sync_jobs RESET (security_invoker);"
        "ALTER TABLE sync_metadata.dead_letters DISABLE ROW LEVEL SECURITY;"
        "DROP TRIGGER trg_sync_jobs_finish ON sync_metadata.sync_jobs;"
        "ALTER TABLE sync_metadata.leader_election DROP COLUMN lease_expires_at CASCADE;"
        "GRANT DELETE ON sync_metadata.hosts TO sync_service;"
        "GRANT CREATE ON SCHEMA public TO PUBLIC;");
  auto check = Cli({"db", "check"}, {{"DATABASE_URL", db_.admin_url}});
  EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
  for (const char* expected : {"missing view sync_metadata.v_recent_conflicts",
                               "view sync_metadata.v_active_sync_jobs is not security_invoker",
                               "missing view sync_metadata.v_cluster_health",
                               "row-level security is not enabled on sync_metadata.dead_letters",
                               "missing trigger trg_sync_jobs_finish on sync_metadata.sync_jobs",
                               "missing column sync_metadata.leader_election.lease_expires_at",
                               "role sync_service holds DELETE on sync_metadata.hosts",
                               "role sync_service may CREATE in schema public"}) {
    EXPECT_NE(check.out.find(expected), std::string::npos) << "expected '" << expected << "' in:\n"
                                                           << check.out;
  }
  auto repaired = admin_->Init(db_.admin_url);
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  EXPECT_TRUE(repaired->changed);
  auto again = Cli({"db", "check", "--url", db_.admin_url});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("db check: OK"), std::string::npos);
}

TEST_F(DbInitTest, CheckReportsAPrivilegeGrantedToAHostRoleAndInitRevokesIt) {
  ASSERT_TRUE(admin_->Init(db_.admin_url).ok());
  const std::string host = env_->UniqueName("checkhost");
  auto added = admin_->AddHost(db_.admin_url, {host, "", "", tmp_->Child("pw")});
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  PgConnection conn = AdminConn();
  Query(&conn, "GRANT DELETE, TRUNCATE ON sync_metadata.tenant_offsets TO " + added->role);
  auto check = admin_->Check(db_.admin_url);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(Contains(check->problems,
                       "role " + added->role + " holds DELETE on sync_metadata.tenant_offsets"))
      << ::testing::PrintToString(check->problems);
  EXPECT_TRUE(Contains(check->problems,
                       "role " + added->role + " holds TRUNCATE on sync_metadata.tenant_offsets"));
  ASSERT_TRUE(admin_->Init(db_.admin_url).ok());
  auto after = admin_->Check(db_.admin_url);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->problems.empty()) << ::testing::PrintToString(after->problems);
}

TEST_F(DbInitTest, AddHostWritesAPrivatePasswordTheRoleLogsInWith) {
  ASSERT_TRUE(admin_->Init(db_.admin_url).ok());
  const std::string host = env_->UniqueName("web-01.example");
  const std::string cluster = env_->UniqueName("cluster");
  const std::string pw_file = tmp_->Child("host.password");
  auto run = Cli({"db", "add-host", host, "--cluster", cluster, "--password-file", pw_file},
                 {{"ADMIN_DATABASE_URL", db_.admin_url}});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto role = DbAdmin::DefaultRoleForHost(host);
  ASSERT_TRUE(role.ok());
  EXPECT_EQ(run.out, *role + "\n") << "stdout carries exactly the role name";

  struct stat st {};
  ASSERT_EQ(::stat(pw_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto password = ReadFileToString(env_->fs(), pw_file);
  ASSERT_TRUE(password.ok());
  ASSERT_FALSE(password->empty());
  password->pop_back();  // trailing newline
  EXPECT_GE(password->size(), 32u);
  EXPECT_EQ(run.out.find(*password), std::string::npos);
  EXPECT_EQ(run.err.find(*password), std::string::npos);

  auto as_host = PgConnection::Connect(env_->clock(), env_->UrlFor(*role, *password, db_.name),
                                       In(10'000'000));
  ASSERT_TRUE(as_host.ok()) << as_host.status().ToString();
  auto mine = as_host->Exec("SELECT hostname, cluster_name, db_role FROM sync_metadata.hosts",
                            In(5'000'000));
  ASSERT_TRUE(mine.ok()) << mine.status().ToString();
  ASSERT_EQ(mine->rows(), 1);
  EXPECT_EQ(mine->GetValue(0, 0), host);
  EXPECT_EQ(mine->GetValue(0, 1), cluster);
  EXPECT_EQ(mine->GetValue(0, 2), *role);
  auto no_pw = PgConnection::Connect(env_->clock(), env_->UrlFor(*role, std::nullopt, db_.name),
                                     In(10'000'000));
  EXPECT_FALSE(no_pw.ok());

  // The server never saw the clear password: only a SCRAM verifier is stored.
  PgConnection conn = AdminConn();
  const std::string stored =
      Query(&conn, "SELECT rolpassword FROM pg_authid WHERE rolname = '" + *role + "'");
  EXPECT_EQ(stored.rfind("SCRAM-SHA-256$", 0), 0u);
  EXPECT_EQ(stored.find(*password), std::string::npos);
}

TEST_F(DbInitTest, AddingAnExistingHostFailsAndChangesNothing) {
  ASSERT_TRUE(admin_->Init(db_.admin_url).ok());
  const std::string host = env_->UniqueName("dup");
  ASSERT_TRUE(admin_->AddHost(db_.admin_url, {host, "", "", tmp_->Child("a")}).ok());
  auto first_pw = ReadFileToString(env_->fs(), tmp_->Child("a"));
  ASSERT_TRUE(first_pw.ok());

  auto again = admin_->AddHost(db_.admin_url, {host, "", "", tmp_->Child("a")});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*ReadFileToString(env_->fs(), tmp_->Child("a")), *first_pw) << "password kept";

  // Same role name for a different host: refused too, and no file is written.
  auto role = DbAdmin::DefaultRoleForHost(host);
  auto clash =
      admin_->AddHost(db_.admin_url, {env_->UniqueName("other"), "", *role, tmp_->Child("b")});
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.status().code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE(env_->fs()->FileExists(tmp_->Child("b")));

  auto cli = Cli({"db", "add-host", host, "--password-file", tmp_->Child("c")},
                 {{"ADMIN_DATABASE_URL", db_.admin_url}});
  EXPECT_NE(cli.exit_code, 0);
  EXPECT_NE(cli.err.find("already registered"), std::string::npos) << cli.err;
}

TEST_F(DbInitTest, AddHostBeforeInitIsAClearError) {
  auto added =
      admin_->AddHost(db_.admin_url, {env_->UniqueName("early"), "", "", tmp_->Child("p")});
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(added.status().message().find("owsync db init"), std::string::npos);
  EXPECT_FALSE(env_->fs()->FileExists(tmp_->Child("p")));
}

TEST_F(DbInitTest, BadHostClusterAndRoleNamesAreRefused) {
  for (const char* name : {"bad name", "-leading-dash", "semi;colon", "quote'd", ""}) {
    EXPECT_EQ(DbAdmin::ValidateHostName(name).code(), StatusCode::kInvalidArgument) << name;
  }
  EXPECT_TRUE(DbAdmin::ValidateHostName("web-01.example.com").ok());
  EXPECT_EQ(DbAdmin::ValidateClusterName("a b").code(), StatusCode::kInvalidArgument);
  for (const char* role : {"pg_monitor", "sync_service", "owsync_admin", "postgres", "Upper",
                           "1abc", "supabase_admin", "x-y"}) {
    EXPECT_EQ(DbAdmin::ValidateRoleName(role).code(), StatusCode::kInvalidArgument) << role;
  }
  EXPECT_EQ(*DbAdmin::DefaultRoleForHost("Web-01.Example"), "owsync_host_web_01_example");
  EXPECT_FALSE(DbAdmin::DefaultRoleForHost(std::string(60, 'a')).ok());
  auto run = Cli({"db", "add-host", "bad name", "--password-file", tmp_->Child("p")},
                 {{"ADMIN_DATABASE_URL", db_.admin_url}});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("invalid host name"), std::string::npos) << run.err;
}

TEST_F(DbInitTest, AdminUrlWithAPasswordInArgvIsRefusedButFilesAndEnvironmentWork) {
  auto refused = Cli({"db", "init", "--admin-url", "postgresql://admin:hunter2@127.0.0.1/x"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("--admin-url-file"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.err.find("hunter2"), std::string::npos);

  const std::string url_file = tmp_->Child("admin.url");
  ASSERT_TRUE(WriteFileAtomically(env_->fs(), url_file, db_.admin_url + "\n").ok());
  auto from_file = Cli({"db", "init", "--admin-url-file", url_file});
  EXPECT_EQ(from_file.exit_code, 0) << from_file.err;
  auto from_env_file = Cli({"db", "init"}, {{"ADMIN_DATABASE_URL_FILE", url_file}});
  EXPECT_EQ(from_env_file.exit_code, 0) << from_env_file.err;
  EXPECT_NE(from_env_file.out.find("nothing changed"), std::string::npos);
  auto none = Cli({"db", "init"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("ADMIN_DATABASE_URL"), std::string::npos) << none.err;
  auto both = Cli({"db", "init", "--admin-url", db_.admin_url, "--admin-url-file", url_file});
  EXPECT_EQ(both.exit_code, 2);
}

TEST_F(DbInitTest, CheckRunsAsTheHostRoleWithItsPasswordFile) {
  ASSERT_TRUE(admin_->Init(db_.admin_url).ok());
  const std::string host = env_->UniqueName("checker");
  auto added = admin_->AddHost(db_.admin_url, {host, "", "", tmp_->Child("pw")});
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  auto password = ReadFileToString(env_->fs(), tmp_->Child("pw"));
  ASSERT_TRUE(password.ok());
  password->pop_back();
  const std::string url_file = tmp_->Child("host.url");
  ASSERT_TRUE(
      WriteFileAtomically(env_->fs(), url_file, env_->UrlFor(added->role, *password, db_.name))
          .ok());
  auto run = Cli({"db", "check", "--url-file", url_file});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  // And as that role, init is not allowed.
  auto init = admin_->Init(env_->UrlFor(added->role, *password, db_.name));
  ASSERT_FALSE(init.ok());
  EXPECT_EQ(shipper::SqlStateOf(init.status()), "42501") << init.status().ToString();
}

}  // namespace
}  // namespace owsync::cli
