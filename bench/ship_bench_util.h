// Shared helpers of the shipper benchmarks (issue 4; header-only like bench_util.h): a
// PostgreSQL for the run (a private LocalPostgres started here, or the server named by
// OWSYNC_TEST_PG_URL, e.g. under `owsync testenv --`), one benchmark database with `db init`
// done and one registered host, tenants provisioned by the real `owsync provision`, the real
// `owsync` binary run as a child process, and generated Open WebUI rows (chat ~20 KB JSON,
// chat_message ~400 B). Errors end the process (bench_util.h's Die).
#ifndef OWSYNC_BENCH_SHIP_BENCH_UTIL_H_
#define OWSYNC_BENCH_SHIP_BENCH_UTIL_H_

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "capture/sql_quote.h"
#include "cli/child_process.h"
#include "cli/db_admin.h"
#include "cli/local_postgres.h"
#include "shipper/deadline.h"
#include "shipper/pg_connection.h"
#include "shipper/pg_result.h"
#include "shipper/pg_url.h"
#include "util/scoped_temp_dir.h"

namespace owsync::bench {

// The `owsync` binary: $OWSYNC_BINARY, else ../owsync next to this benchmark's directory
// (build/bench/X -> build/owsync).
inline std::string OwsyncBinary() {
  if (const char* env = std::getenv("OWSYNC_BINARY"); env != nullptr && *env != '\0') return env;
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) Die("readlink /proc/self/exe");
  std::string self(buf, static_cast<size_t>(n));
  std::string dir = self.substr(0, self.rfind('/'));
  return dir.substr(0, dir.rfind('/')) + "/owsync";
}

// One PostgreSQL database for the benchmark, with a host registered in it.
class ShipBenchPg {
 public:
  ShipBenchPg(FileSystem* fs, Clock* clock, Logger* logger) : fs_(fs), clock_(clock) {
    std::string server_url;
    if (const char* env = std::getenv("OWSYNC_TEST_PG_URL"); env != nullptr && *env != '\0') {
      server_url = env;
      where_ = "OWSYNC_TEST_PG_URL";
    } else {
      cli::LocalPostgresOptions o;
      o.fs = fs;
      o.clock = clock;
      o.logger = logger;
      o.shared_buffers = "256MB";
      // Checkpoints only when the benchmark asks (CHECKPOINT before each timed phase), so
      // one does not land in one side of a comparison by chance.
      o.settings = {{"max_wal_size", "8GB"},
                    {"checkpoint_timeout", "1h"},
                    {"shared_preload_libraries", "pg_stat_statements"}};
      local_ = Take(cli::LocalPostgres::Start(o), "start PostgreSQL");
      server_url = local_->admin_url();
      where_ = "private LocalPostgres (shared_buffers=256MB, max_wal_size=8GB, fsync on)";
    }
    dbname_ = fmt::format("owsync_bench_{}", getpid());
    shipper::PgUrl server = Take(shipper::PgUrl::Parse(server_url), "parse server URL");
    {
      auto conn = Connect(server_url);
      Exec(&conn, "CREATE DATABASE " + dbname_);
    }
    admin_url_ = server.With("dbname", dbname_).ToString();
    tmp_.emplace(Take(ScopedTempDir::Create("owsync-bench-pg-"), "temp dir"));
    cli::DbAdmin admin(fs, clock, nullptr);
    Check(admin.Init(admin_url_).status(), "db init");
    host_ = fmt::format("benchhost{}", getpid());
    cli::AddHostResult added =
        Take(admin.AddHost(admin_url_, {host_, "", "", tmp_->Child("pw")}), "db add-host");
    std::string pw = Take(ReadFileToString(fs, tmp_->Child("pw")), "read password");
    while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
    cluster_ = added.cluster;
    role_url_ =
        server.With("dbname", dbname_).With("user", added.role).With("password", pw).ToString();
    admin_ = Connect(admin_url_);
  }
  ~ShipBenchPg() {
    admin_.reset();
    if (!local_) {  // a shared server: leave it as we found it
      auto conn = shipper::PgConnection::Connect(
          clock_,
          Take(shipper::PgUrl::Parse(admin_url_), "url").With("dbname", "postgres").ToString(),
          shipper::Deadline::After(clock_, 30'000'000));
      if (conn.ok()) {
        (void)conn->Exec("DROP DATABASE IF EXISTS " + dbname_ + " WITH (FORCE)",
                         shipper::Deadline::After(clock_, 60'000'000));
      }
    }
  }

  shipper::PgConnection Connect(const std::string& url) {
    return Take(
        shipper::PgConnection::Connect(clock_, url, shipper::Deadline::After(clock_, 30'000'000)),
        "connect to PostgreSQL");
  }
  shipper::PgResult Exec(shipper::PgConnection* conn, const std::string& sql) {
    return Take(conn->Exec(sql, shipper::Deadline::After(clock_, 3600'000'000)),
                sql.substr(0, 200));
  }
  // As the administrator, on the benchmark database.
  shipper::PgResult Admin(const std::string& sql) { return Exec(&*admin_, sql); }
  int64_t AdminInt(const std::string& sql) {
    shipper::PgResult r = Admin(sql);
    if (r.rows() != 1) Die(sql + ": not one row");
    return std::atoll(std::string(r.GetValue(0, 0)).c_str());
  }

  // `owsync <args>` as a child process with this host's environment plus `env`; its output
  // goes to `log`. Returns the started process.
  cli::ChildProcess Start(const std::vector<std::string>& args, const std::string& log,
                          const std::vector<std::string>& env = {}) {
    std::vector<std::string> e = {"DATABASE_URL=" + role_url_,
                                  "ADMIN_DATABASE_URL=" + admin_url_,
                                  "HOST_NAME=" + host_,
                                  "CLUSTER_NAME=" + cluster_,
                                  "LOG_LEVEL=warn",
                                  "LEASE_DURATION=5"};
    // An entry of `env` replaces the default of the same name (getenv finds the first one).
    for (const std::string& entry : env) {
      const std::string name = entry.substr(0, entry.find('=') + 1);
      e.erase(std::remove_if(e.begin(), e.end(),
                             [&](const std::string& d) { return d.rfind(name, 0) == 0; }),
              e.end());
    }
    e.insert(e.end(), env.begin(), env.end());
    cli::ChildProcessOptions o;
    o.argv = {OwsyncBinary()};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.env = cli::EnvironmentWith(e, {"DATABASE_URL_FILE", "ADMIN_DATABASE_URL_FILE",
                                     "LOCK_DATABASE_URL*", "ROLE", "BATCH_*"});
    o.output_path = log;
    o.parent_death_signal = SIGKILL;
    return Take(cli::ChildProcess::Start(o), "start owsync " + args[0]);
  }
  // Runs `owsync <args>` to the end; a non-zero exit ends the benchmark.
  void Run(const std::vector<std::string>& args, const std::string& log,
           const std::vector<std::string>& env = {}) {
    cli::ChildProcess p = Start(args, log, env);
    int status = Take(p.Wait(), "wait for owsync");
    if (cli::ExitCodeOf(status) != 0) {
      Die(fmt::format("owsync {} {} (output in {}):\n{}", args[0], cli::DescribeWaitStatus(status),
                      log, ReadSmallFile(log)));
    }
  }
  // `owsync provision` of tenant `client` from the SQLite database `db`.
  void Provision(const std::string& client, const std::string& db, const std::string& log) {
    Run({"provision", "--client", client, "--host", host_, "--db", db}, log);
  }

  const std::string& where() const { return where_; }
  const std::string& admin_url() const { return admin_url_; }
  const std::string& role_url() const { return role_url_; }
  const std::string& host() const { return host_; }
  const std::string& cluster() const { return cluster_; }
  std::string ServerVersion() { return std::string(Admin("SHOW server_version").GetValue(0, 0)); }

 private:
  FileSystem* fs_;
  Clock* clock_;
  std::unique_ptr<cli::LocalPostgres> local_;
  std::string where_, dbname_, admin_url_, role_url_, host_, cluster_;
  std::optional<ScopedTempDir> tmp_;
  std::optional<shipper::PgConnection> admin_;
};

inline std::string Quote(const std::string& ident) { return capture::QuoteIdentifier(ident); }

// Fills `path` (v0.11.0 schema already there) with `chats` chat rows (~20 KB JSON each) and
// `messages` chat_message rows (~400 B each), in large transactions.
inline void FillTenantDb(const std::string& path, int64_t chats, int64_t messages, uint64_t seed) {
  AppDb db(path);
  db.Exec("PRAGMA synchronous=OFF");
  Rng rng(seed);
  std::string user_id = Uuid(&rng);
  AppStmt chat(&db,
               "INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, archived, "
               "meta) VALUES (?1, ?2, ?3, ?4, ?5, ?5, 0, '{}')");
  AppStmt msg(&db,
              "INSERT INTO chat_message (id, chat_id, user_id, role, parent_id, content, "
              "model_id, done, created_at, updated_at) VALUES (?1, ?2, ?3, 'assistant', ?4, ?5, "
              "'llama3.1:8b', 1, ?6, ?6)");
  db.Exec("BEGIN");
  std::vector<std::string> chat_ids;
  for (int64_t i = 0; i < chats; ++i) {
    chat_ids.push_back(Uuid(&rng));
    std::string title = Prose(&rng, 24), json = ChatJson(&rng, 20 * 1024);
    chat.Text(1, chat_ids.back());
    chat.Text(2, user_id);
    chat.Text(3, title);
    chat.Text(4, json);
    chat.Int(5, 1700000000 + i);
    chat.MustRun();
    if ((i + 1) % 1000 == 0) db.Exec("COMMIT; BEGIN");
  }
  std::string id, parent;
  for (int64_t i = 0; i < messages; ++i) {
    parent = id;
    id = Uuid(&rng);
    std::string chat_id = chat_ids.empty() ? Uuid(&rng) : chat_ids[rng.Uniform(chat_ids.size())];
    std::string content = MessageContent(&rng, 240);
    msg.Text(1, id);
    msg.Text(2, chat_id);
    msg.Text(3, user_id);
    msg.Text(4, parent);
    msg.Text(5, content);
    msg.Int(6, 1700000000 + i);
    msg.MustRun();
    if ((i + 1) % 20000 == 0) db.Exec("COMMIT; BEGIN");
  }
  db.Exec("COMMIT");
}

inline std::string Range(const std::vector<double>& v, const char* fmt_spec) {
  if (v.empty()) return "-";
  auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return fmt::format(fmt::runtime(fmt_spec), *lo) + "-" + fmt::format(fmt::runtime(fmt_spec), *hi);
}

}  // namespace owsync::bench

#endif  // OWSYNC_BENCH_SHIP_BENCH_UTIL_H_
