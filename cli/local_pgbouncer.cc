#include "cli/local_pgbouncer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "cli/local_postgres.h"
#include "shipper/pg_url.h"

namespace owsync::cli {
namespace {

constexpr int kPortAttempts = 6;

bool CanConnect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

LocalPgBouncerOptions LocalPgBouncerOptions::For(const LocalPostgres& pg, FileSystem* fs,
                                                 Clock* clock) {
  LocalPgBouncerOptions o;
  o.fs = fs;
  o.clock = clock;
  o.server_host = LocalPostgres::kHost;
  o.server_port = pg.port();
  o.admin_user = LocalPostgres::kAdminUser;
  return o;
}

Result<std::unique_ptr<LocalPgBouncer>> LocalPgBouncer::Start(
    const LocalPgBouncerOptions& options) {
  if (options.fs == nullptr || options.clock == nullptr || options.server_port <= 0) {
    return Status::InvalidArgument("LocalPgBouncer needs a FileSystem, a Clock and a server port");
  }
  if (!options.fs->FileExists(options.binary)) {
    return Status::NotFound("no pgbouncer at " + options.binary +
                            "; install pgbouncer (scripts/install-deps.sh)");
  }
  std::unique_ptr<LocalPgBouncer> b(new LocalPgBouncer(options));
  OWSYNC_ASSIGN_OR_RETURN(b->run_as_, ServerUserIfRoot());
  OWSYNC_ASSIGN_OR_RETURN(PrivateDir dir,
                          PrivateDir::Create(options.fs, "owsync-pgbouncer-", b->run_as_));
  b->dir_.emplace(std::move(dir));
  b->dir_path_ = b->dir_->path();
  std::lock_guard<std::mutex> lock(b->mu_);
  Status last;
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    OWSYNC_ASSIGN_OR_RETURN(b->port_, PickFreeLoopbackPort());
    OWSYNC_RETURN_IF_ERROR(b->WriteConfig());
    std::string log;
    last = b->Launch(&log);
    if (last.ok()) return b;
    if (log.find("Address already in use") == std::string::npos) break;
  }
  return last;
}

Status LocalPgBouncer::WriteConfig() {
  const std::string& admin = options_.admin_user;
  const std::string ini =
      "; Written by owsync LocalPgBouncer.\n"
      "[databases]\n"
      "* = host=" +
      options_.server_host + " port=" + std::to_string(options_.server_port) +
      "\n\n[pgbouncer]\n"
      "listen_addr = 127.0.0.1\n"
      "listen_port = " +
      std::to_string(port_) +
      "\n"
      "unix_socket_dir =\n"
      "pool_mode = " +
      options_.pool_mode +
      "\n"
      "auth_type = hba\n"
      "auth_hba_file = " +
      JoinPath(dir_path_, "hba.conf") +
      "\n"
      "auth_file = " +
      JoinPath(dir_path_, "userlist.txt") +
      "\n"
      "auth_user = " +
      admin +
      "\n"
      "auth_query = SELECT usename, passwd FROM pg_catalog.pg_shadow WHERE usename = $1\n"
      "admin_users = " +
      admin +
      "\n"
      "default_pool_size = " +
      std::to_string(options_.default_pool_size) +
      "\n"
      "max_client_conn = " +
      std::to_string(options_.max_client_conn) +
      "\n"
      "ignore_startup_parameters = extra_float_digits,options\n"
      "server_login_retry = 1\n"
      "log_connections = 0\n"
      "log_disconnections = 0\n";
  const std::string hba = "host all " + admin +
                          " 127.0.0.1/32 trust\n"
                          "host all all 127.0.0.1/32 scram-sha-256\n";
  const std::string users = "\"" + admin + "\" \"\"\n";
  for (const auto& [name, text] : {std::pair<std::string, const std::string&>{"pgbouncer.ini", ini},
                                   {"hba.conf", hba},
                                   {"userlist.txt", users}}) {
    const std::string path = JoinPath(dir_path_, name);
    OWSYNC_RETURN_IF_ERROR(WriteFileAtomically(options_.fs, path, text));
    OWSYNC_RETURN_IF_ERROR(GiveToUser(path, run_as_));
  }
  return Status::OK();
}

Status LocalPgBouncer::Launch(std::string* log_since_start) {
  const std::string log = JoinPath(dir_path_, "pgbouncer.log");
  const uint64_t log_start =
      options_.fs->FileExists(log) ? options_.fs->GetFileSize(log).value_or(0) : 0;
  ChildProcessOptions o;
  o.argv = {options_.binary, JoinPath(dir_path_, "pgbouncer.ini")};
  o.env = EnvironmentWith({"LC_ALL=C"}, {"PG*", "LANG", "LC_*"});
  o.run_as = run_as_;
  o.cwd = dir_path_;
  o.output_path = log;
  o.own_process_group = true;
  o.parent_death_signal = SIGTERM;
  OWSYNC_ASSIGN_OR_RETURN(ChildProcess child, ChildProcess::Start(o));
  process_.emplace(std::move(child));
  auto since_start = [&]() {
    auto text = ReadFileToString(options_.fs, log);
    return text.ok() && text->size() >= log_start ? text->substr(log_start) : std::string();
  };
  const int64_t end = options_.clock->MonotonicMicros() + options_.start_timeout_micros;
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(std::optional<int> st, process_->TryWait());
    if (st.has_value()) {
      *log_since_start = since_start();
      process_.reset();
      return Status::Unavailable("pgbouncer " + DescribeWaitStatus(*st) +
                                 " while starting on port " + std::to_string(port_) +
                                 "; last lines of " + log + ":\n" +
                                 LastLines(*log_since_start, 15));
    }
    if (CanConnect(port_)) {
      if (options_.logger) {
        options_.logger->Info("pgbouncer ({} pooling) on 127.0.0.1:{} -> {}:{}", options_.pool_mode,
                              port_, options_.server_host, options_.server_port);
      }
      return Status::OK();
    }
    if (options_.clock->MonotonicMicros() >= end) {
      *log_since_start = since_start();
      process_.reset();  // kills it
      return Status::Unavailable(
          "pgbouncer did not accept connections within the start timeout; "
          "last lines of " +
          log + ":\n" + LastLines(*log_since_start, 15));
    }
    options_.clock->SleepForMicros(10'000);
  }
}

std::string LocalPgBouncer::UrlFor(const std::string& user,
                                   const std::optional<std::string>& password,
                                   const std::string& dbname) const {
  return shipper::PgUrl::FromParts("127.0.0.1", port_, user, password, dbname).ToString();
}

std::string LocalPgBouncer::admin_console_url() const {
  return UrlFor(options_.admin_user, std::nullopt, "pgbouncer");
}

Status LocalPgBouncer::Pause() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!process_.has_value()) return Status::FailedPrecondition("pgbouncer is not running");
  OWSYNC_RETURN_IF_ERROR(process_->Signal(SIGSTOP));
  paused_ = true;
  return Status::OK();
}

Status LocalPgBouncer::Resume() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!process_.has_value()) return Status::FailedPrecondition("pgbouncer is not running");
  OWSYNC_RETURN_IF_ERROR(process_->Signal(SIGCONT));
  paused_ = false;
  return Status::OK();
}

Status LocalPgBouncer::Kill() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!process_.has_value()) return Status::FailedPrecondition("pgbouncer is not running");
  OWSYNC_RETURN_IF_ERROR(process_->Signal(SIGKILL));
  auto st = process_->Wait();
  process_.reset();
  paused_ = false;
  return st.status();
}

Status LocalPgBouncer::Restart() {
  std::lock_guard<std::mutex> lock(mu_);
  if (process_.has_value()) return Status::FailedPrecondition("pgbouncer is running");
  if (!dir_.has_value()) return Status::FailedPrecondition("pgbouncer was stopped");
  std::string log;
  return Launch(&log);
}

bool LocalPgBouncer::paused() const {
  std::lock_guard<std::mutex> lock(mu_);
  return paused_;
}

Status LocalPgBouncer::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  Status result;
  if (process_.has_value() && process_->running()) {
    if (paused_) {
      auto ignored = process_->Signal(SIGCONT);
      (void)ignored;
    }
    auto sent = process_->Signal(SIGTERM);  // immediate shutdown
    (void)sent;
    auto st = process_->WaitFor(options_.clock, 10'000'000);
    if (!st.ok() || !st->has_value()) {
      result = Status::Internal("pgbouncer did not stop on SIGTERM; killed");
    }
  }
  process_.reset();  // SIGKILLs it if still running
  paused_ = false;
  if (dir_.has_value()) {
    Status r = dir_->Remove();
    if (result.ok()) result = r;
    dir_.reset();
  }
  return result;
}

LocalPgBouncer::~LocalPgBouncer() {
  Status s = Stop();
  if (!s.ok() && options_.logger) options_.logger->Warn("stopping pgbouncer: {}", s.ToString());
}

}  // namespace owsync::cli
