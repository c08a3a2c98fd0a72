#include "cli/local_postgres.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

#include "shipper/pg_url.h"

namespace owsync::cli {
namespace {

constexpr const char* kDefaultBindir = "/usr/lib/postgresql/15/bin";
constexpr int kPortAttempts = 6;
// A Unix socket path must fit in sockaddr_un.sun_path (108 bytes) with ".s.PGSQL.65535".
constexpr size_t kMaxSocketDirLength = 90;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

Result<int> PickFreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket", errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus("binding a free loopback port", err);
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

Status GiveToUser(const std::string& path, const std::optional<UserIdentity>& user) {
  if (!user.has_value()) return Status::OK();
  if (::chown(path.c_str(), user->uid, user->gid) != 0) return ErrnoStatus("chown " + path, errno);
  return Status::OK();
}

std::string LastLines(const std::string& text, int lines) {
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (int i = 0; i < lines && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos == 0 ? 0 : pos + 1);
}

Result<std::unique_ptr<LocalPostgres>> LocalPostgres::Start(const LocalPostgresOptions& options) {
  if (options.fs == nullptr || options.clock == nullptr) {
    return Status::InvalidArgument("LocalPostgres needs a FileSystem and a Clock");
  }
  std::unique_ptr<LocalPostgres> pg(new LocalPostgres(options));
  OWSYNC_RETURN_IF_ERROR(pg->Init());
  std::lock_guard<std::mutex> lock(pg->mu_);
  OWSYNC_RETURN_IF_ERROR(pg->StartLocked(/*may_change_port=*/true));
  return pg;
}

Status LocalPostgres::Init() {
  OWSYNC_ASSIGN_OR_RETURN(run_as_, ServerUserIfRoot());
  OWSYNC_ASSIGN_OR_RETURN(PrivateDir dir, PrivateDir::Create(options_.fs, "owsync-pg-", run_as_));
  dir_.emplace(std::move(dir));
  dir_path_ = dir_->path();
  if (dir_path_.size() > kMaxSocketDirLength) {
    return Status::FailedPrecondition("temporary directory path " + dir_path_ +
                                      " is too long for a Unix socket; set TMPDIR=/tmp");
  }

  bindir_ = options_.bindir;
  if (bindir_.empty() && options_.fs->FileExists(JoinPath(kDefaultBindir, "postgres"))) {
    bindir_ = kDefaultBindir;
  }
  if (bindir_.empty()) {
    ChildProcessOptions o;
    o.argv = {"pg_config", "--bindir"};
    o.search_path = true;
    o.run_as = run_as_;
    o.cwd = dir_path_;
    o.output_path = JoinPath(dir_path_, "pg_config.out");
    OWSYNC_ASSIGN_OR_RETURN(ChildProcess p, ChildProcess::Start(o));
    OWSYNC_ASSIGN_OR_RETURN(int st, p.Wait());
    OWSYNC_ASSIGN_OR_RETURN(std::string out, ReadFileToString(options_.fs, o.output_path));
    if (ExitCodeOf(st) != 0) {
      return Status::NotFound("cannot find the PostgreSQL binaries: pg_config " +
                              DescribeWaitStatus(st) + ": " + Trim(out));
    }
    bindir_ = Trim(out);
  }
  if (!options_.fs->FileExists(JoinPath(bindir_, "postgres")) ||
      !options_.fs->FileExists(JoinPath(bindir_, "initdb"))) {
    return Status::NotFound("no PostgreSQL server binaries (postgres, initdb) in " + bindir_ +
                            "; install postgresql-15 (scripts/install-deps.sh)");
  }
  OWSYNC_RETURN_IF_ERROR(RunInitdb());
  return WriteHba();
}

std::vector<std::string> LocalPostgres::ServerEnvironment() const {
  std::vector<std::string> set = {"LC_ALL=C"};
  if (run_as_.has_value()) set.push_back("HOME=" + run_as_->home);
  return EnvironmentWith(set, {"PG*", "LANG", "LANGUAGE", "LC_*"});
}

Status LocalPostgres::RunInitdb() {
  ChildProcessOptions o;
  o.argv = {JoinPath(bindir_, "initdb"), "--pgdata=" + data_dir(),
            "--username=" + std::string(kAdminUser), "--encoding=UTF8", "--locale=C",
            "--auth=trust", "--no-instructions",
            // The cluster is thrown away with its directory; the server itself runs with
            // fsync on.
            "--no-sync"};
  o.env = ServerEnvironment();
  o.run_as = run_as_;
  o.cwd = dir_path_;
  o.output_path = JoinPath(dir_path_, "initdb.log");
  o.own_process_group = true;
  o.parent_death_signal = SIGKILL;
  OWSYNC_ASSIGN_OR_RETURN(ChildProcess p, ChildProcess::Start(o));
  OWSYNC_ASSIGN_OR_RETURN(std::optional<int> st, p.WaitFor(options_.clock, 120'000'000));
  if (!st.has_value()) return Status::Unavailable("initdb did not finish within 120 s");
  if (ExitCodeOf(*st) != 0) {
    return Status::Internal("initdb " + DescribeWaitStatus(*st) + "; last lines of " +
                            o.output_path + ":\n" + LogTail(o.output_path, 15));
  }
  return Status::OK();
}

Status LocalPostgres::WriteHba() {
  const std::string path = JoinPath(dir_path_, "pg_hba.conf");
  const std::string hba = std::string(
                              "# Written by owsync LocalPostgres. The administrator is trusted on "
                              "loopback; every other\n"
                              "# role logs in with SCRAM. Nothing else is accepted.\n"
                              "# TYPE  DATABASE  USER          ADDRESS        METHOD\n"
                              "local   all       ") +
                          kAdminUser +
                          "                 trust\n"
                          "host    all       " +
                          kAdminUser +
                          "  127.0.0.1/32   trust\n"
                          "local   all       all                          scram-sha-256\n"
                          "host    all       all           127.0.0.1/32   scram-sha-256\n";
  OWSYNC_RETURN_IF_ERROR(WriteFileAtomically(options_.fs, path, hba));
  return GiveToUser(path, run_as_);
}

std::string LocalPostgres::data_dir() const { return JoinPath(dir_path_, "data"); }
std::string LocalPostgres::log_path() const { return JoinPath(dir_path_, "postgres.log"); }

std::string LocalPostgres::admin_url() const {
  return UrlFor(kAdminUser, std::nullopt, "postgres");
}

std::string LocalPostgres::UrlFor(const std::string& user,
                                  const std::optional<std::string>& password,
                                  const std::string& dbname) const {
  return shipper::PgUrl::FromParts(kHost, port_, user, password, dbname).ToString();
}

bool LocalPostgres::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return server_.has_value() && server_->running();
}

std::string LocalPostgres::LogTail(const std::string& path, int lines) const {
  auto text = ReadFileToString(options_.fs, path);
  if (!text.ok()) return "(cannot read " + path + ": " + text.status().ToString() + ")";
  return LastLines(*text, lines);
}

Status LocalPostgres::StartLocked(bool may_change_port) {
  if (removed_) return Status::FailedPrecondition("LocalPostgres was stopped and removed");
  if (server_.has_value() && server_->running()) return Status::OK();
  Status last;
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    if (may_change_port || port_ == 0) {
      OWSYNC_ASSIGN_OR_RETURN(port_, PickFreeLoopbackPort());
    }
    std::string log;
    last = LaunchOnce(&log);
    if (last.ok()) {
      if (options_.logger) {
        options_.logger->Info("PostgreSQL {} started on 127.0.0.1:{} in {}", bindir_, port_,
                              dir_path_);
      }
      return last;
    }
    const bool port_taken = log.find("Address already in use") != std::string::npos ||
                            log.find("could not create any TCP/IP sockets") != std::string::npos;
    if (!port_taken || !may_change_port) break;
  }
  return last;
}

Status LocalPostgres::LaunchOnce(std::string* log_since_start) {
  const std::string log = log_path();
  const uint64_t log_start =
      options_.fs->FileExists(log) ? options_.fs->GetFileSize(log).value_or(0) : 0;
  ChildProcessOptions o;
  o.argv = {JoinPath(bindir_, "postgres"), "-D", data_dir()};
  std::vector<std::pair<std::string, std::string>> settings = {
      {"port", std::to_string(port_)},
      {"listen_addresses", kHost},
      {"unix_socket_directories", dir_path_},
      {"hba_file", JoinPath(dir_path_, "pg_hba.conf")},
      {"fsync", "on"},
      {"synchronous_commit", "on"},
      {"full_page_writes", "on"},
      {"shared_buffers", options_.shared_buffers},
      {"max_connections", std::to_string(options_.max_connections)},
      {"password_encryption", "scram-sha-256"},
      {"logging_collector", "off"},
      {"log_line_prefix", "%m [%p] %q%u@%d "},
      {"log_min_messages", "warning"},
      {"max_wal_size", "256MB"},
      {"dynamic_shared_memory_type", "posix"}};
  for (const auto& s : options_.settings) settings.push_back(s);
  for (const auto& [k, v] : settings) {
    o.argv.push_back("-c");
    o.argv.push_back(k + "=" + v);
  }
  o.env = ServerEnvironment();
  o.run_as = run_as_;
  o.cwd = dir_path_;
  o.output_path = log;
  o.own_process_group = true;
  o.parent_death_signal = SIGQUIT;
  OWSYNC_ASSIGN_OR_RETURN(ChildProcess child, ChildProcess::Start(o));
  server_.emplace(std::move(child));

  const std::string pid_file = JoinPath(data_dir(), "postmaster.pid");
  const std::string want_pid = std::to_string(server_->pid());
  const int64_t end = options_.clock->MonotonicMicros() + options_.start_timeout_micros;
  auto since_start = [&]() {
    auto text = ReadFileToString(options_.fs, log);
    return text.ok() && text->size() >= log_start ? text->substr(log_start) : std::string();
  };
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(std::optional<int> st, server_->TryWait());
    if (st.has_value()) {
      *log_since_start = since_start();
      server_.reset();
      return Status::Unavailable("PostgreSQL " + DescribeWaitStatus(*st) +
                                 " while starting on port " + std::to_string(port_) +
                                 "; last lines of " + log + ":\n" +
                                 LastLines(*log_since_start, 15));
    }
    // postmaster.pid: line 1 the pid, line 8 the status ("ready" once it accepts connections).
    auto pid_text = ReadFileToString(options_.fs, pid_file);
    if (pid_text.ok()) {
      std::istringstream in(*pid_text);
      std::string line, first, status;
      for (int i = 1; std::getline(in, line); ++i) {
        if (i == 1) first = Trim(line);
        if (i == 8) status = Trim(line);
      }
      if (first == want_pid && status == "ready") return Status::OK();
    }
    if (options_.clock->MonotonicMicros() >= end) {
      *log_since_start = since_start();
      Status s =
          Status::Unavailable("PostgreSQL did not become ready within " +
                              std::to_string(options_.start_timeout_micros / 1000000) +
                              " s; last lines of " + log + ":\n" + LastLines(*log_since_start, 15));
      auto ignored = StopLocked(StopMode::kImmediate);
      (void)ignored;
      return s;
    }
    options_.clock->SleepForMicros(20'000);
  }
}

Status LocalPostgres::StopLocked(StopMode mode) {
  if (!server_.has_value()) return Status::OK();
  Status result;
  if (server_->running()) {
    struct Step {
      int sig;
      int64_t wait;
    };
    const Step steps[] = {
        {mode == StopMode::kFast ? SIGINT : SIGQUIT, options_.stop_timeout_micros},
        {SIGQUIT, 10'000'000},
        {SIGKILL, 10'000'000}};
    bool stopped = false;
    for (const Step& step : steps) {
      auto sent = server_->Signal(step.sig);
      (void)sent;
      OWSYNC_ASSIGN_OR_RETURN(std::optional<int> st, server_->WaitFor(options_.clock, step.wait));
      if (st.has_value()) {
        stopped = true;
        break;
      }
      if (options_.logger) {
        options_.logger->Warn("PostgreSQL did not stop after signal {}; escalating", step.sig);
      }
    }
    if (!stopped) result = Status::Internal("PostgreSQL did not stop even after SIGKILL");
  }
  server_.reset();
  return result;
}

Status LocalPostgres::StopServer(StopMode mode) {
  std::lock_guard<std::mutex> lock(mu_);
  return StopLocked(mode);
}

Status LocalPostgres::StartServer() {
  std::lock_guard<std::mutex> lock(mu_);
  return StartLocked(/*may_change_port=*/false);
}

Status LocalPostgres::Restart(StopMode mode) {
  std::lock_guard<std::mutex> lock(mu_);
  OWSYNC_RETURN_IF_ERROR(StopLocked(mode));
  return StartLocked(/*may_change_port=*/false);
}

Status LocalPostgres::Stop(StopMode mode) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = StopLocked(mode);
  if (dir_.has_value()) {
    Status r = dir_->Remove();
    if (s.ok()) s = r;
    dir_.reset();
  }
  removed_ = true;
  return s;
}

std::string LocalPostgres::StopAndKeepDirectory() {
  std::lock_guard<std::mutex> lock(mu_);
  auto ignored = StopLocked(StopMode::kFast);
  (void)ignored;
  if (dir_.has_value()) {
    dir_->Keep();
    dir_.reset();
  }
  removed_ = true;
  return dir_path_;
}

LocalPostgres::~LocalPostgres() {
  Status s = Stop();
  if (!s.ok() && options_.logger) options_.logger->Warn("stopping PostgreSQL: {}", s.ToString());
}

}  // namespace owsync::cli
