#include "cli/child_process.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

extern char** environ;

namespace owsync::cli {
namespace {

std::optional<UserIdentity> LookUpUser(const char* name) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwnam_r(name, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return UserIdentity{pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir ? pw.pw_dir : "/"};
}

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// In the child, between fork and exec: only async-signal-safe calls. Reports errno through
// `err_fd` (close-on-exec) and exits 127 on failure.
[[noreturn]] void ChildFail(int err_fd, int stage) {
  int payload[2] = {stage, errno};
  ssize_t ignored = ::write(err_fd, payload, sizeof(payload));
  (void)ignored;
  _exit(127);
}

constexpr const char* kStageNames[] = {"sigprocmask", "setpgid", "setgroups",   "setgid", "setuid",
                                       "prctl",       "chdir",   "open output", "exec"};

}  // namespace

Result<std::optional<UserIdentity>> ServerUserIfRoot() {
  if (::geteuid() != 0) return std::optional<UserIdentity>();
  for (const char* name : {"postgres", "nobody"}) {
    if (auto u = LookUpUser(name)) return std::optional<UserIdentity>(std::move(u));
  }
  return Status::NotFound(
      "running as root, but neither the 'postgres' nor the 'nobody' account exists to run "
      "PostgreSQL as (initdb and postgres refuse to run as root)");
}

Result<ChildProcess> ChildProcess::Start(const ChildProcessOptions& options) {
  if (options.argv.empty()) return Status::InvalidArgument("ChildProcess: empty argv");
  // Everything the child needs is prepared before fork (no allocation after it).
  std::vector<std::string> argv = options.argv;
  std::vector<char*> argv_c = CStrings(argv);
  std::vector<std::string> env = options.env.has_value() ? *options.env : EnvironmentWith({});
  std::vector<char*> env_c = CStrings(env);
  const std::string out_path = options.output_path;
  const std::string cwd = options.cwd;
  const bool drop = options.run_as.has_value();
  const uid_t uid = drop ? options.run_as->uid : 0;
  const gid_t gid = drop ? options.run_as->gid : 0;
  const pid_t parent = ::getpid();

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return ErrnoStatus("fork", err);
  }
  if (pid == 0) {
    const int efd = pipefd[1];
    ::close(pipefd[0]);
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, nullptr) != 0) ChildFail(efd, 0);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD}) ::signal(sig, SIG_DFL);
    if (options.own_process_group && ::setpgid(0, 0) != 0) ChildFail(efd, 1);
    if (drop) {
      if (::setgroups(0, nullptr) != 0) ChildFail(efd, 2);
      if (::setgid(gid) != 0) ChildFail(efd, 3);
      if (::setuid(uid) != 0) ChildFail(efd, 4);
    }
    if (options.parent_death_signal != 0) {
      if (::prctl(PR_SET_PDEATHSIG, options.parent_death_signal) != 0) ChildFail(efd, 5);
      if (::getppid() != parent) _exit(127);  // the parent is already gone
    }
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ChildFail(efd, 6);
    if (!out_path.empty()) {
      const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0 || in < 0) ChildFail(efd, 7);
      if (::dup2(in, 0) < 0 || ::dup2(fd, 1) < 0 || ::dup2(fd, 2) < 0) ChildFail(efd, 7);
    }
    if (options.search_path) {
      environ = env_c.data();
      ::execvp(argv_c[0], argv_c.data());
    } else {
      ::execve(argv_c[0], argv_c.data(), env_c.data());
    }
    ChildFail(efd, 8);
  }
  ::close(pipefd[1]);
  ChildProcess child(pid);
  int payload[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(pipefd[0], payload, sizeof(payload));
  } while (n < 0 && errno == EINTR);
  ::close(pipefd[0]);
  if (n == static_cast<ssize_t>(sizeof(payload))) {
    auto reaped = child.Wait();
    (void)reaped;
    const int stage = payload[0] >= 0 && payload[0] <= 8 ? payload[0] : 8;
    return ErrnoStatus(std::string("starting ") + options.argv[0] + ": " + kStageNames[stage],
                       payload[1]);
  }
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), wait_status_(std::move(other.wait_status_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    KillAndReap();
    pid_ = std::exchange(other.pid_, -1);
    wait_status_ = std::move(other.wait_status_);
  }
  return *this;
}

ChildProcess::~ChildProcess() { KillAndReap(); }

void ChildProcess::KillAndReap() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    auto ignored = Wait();
    (void)ignored;
  }
  pid_ = -1;
}

Status ChildProcess::Signal(int sig) {
  if (!running()) return Status::FailedPrecondition("process is not running");
  if (::kill(pid_, sig) != 0) return ErrnoStatus("kill " + std::to_string(pid_), errno);
  return Status::OK();
}

Result<std::optional<int>> ChildProcess::TryWait() {
  if (wait_status_.has_value()) return wait_status_;
  if (pid_ <= 0) return Status::FailedPrecondition("no process");
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return ErrnoStatus("waitpid " + std::to_string(pid_), errno);
  if (r == 0) return std::optional<int>();
  wait_status_ = status;
  return wait_status_;
}

Result<std::optional<int>> ChildProcess::WaitFor(Clock* clock, int64_t timeout_micros) {
  const int64_t end = clock->MonotonicMicros() + timeout_micros;
  int64_t pause = 1000;
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(std::optional<int> st, TryWait());
    if (st.has_value() || clock->MonotonicMicros() >= end) return st;
    clock->SleepForMicros(std::min(pause, std::max<int64_t>(end - clock->MonotonicMicros(), 0)));
    pause = std::min<int64_t>(pause * 2, 50'000);
  }
}

Result<int> ChildProcess::Wait() {
  if (wait_status_.has_value()) return *wait_status_;
  if (pid_ <= 0) return Status::FailedPrecondition("no process");
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return ErrnoStatus("waitpid " + std::to_string(pid_), errno);
  wait_status_ = status;
  return status;
}

std::string DescribeWaitStatus(int st) {
  if (WIFEXITED(st)) return "exited with status " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) {
    const char* name = ::strsignal(WTERMSIG(st));
    return "killed by signal " + std::to_string(WTERMSIG(st)) + " (" + (name ? name : "?") + ")";
  }
  return "ended with wait status " + std::to_string(st);
}

int ExitCodeOf(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 1;
}

std::vector<std::string> EnvironmentWith(const std::vector<std::string>& overrides,
                                         const std::vector<std::string>& remove) {
  auto name_of = [](std::string_view entry) { return entry.substr(0, entry.find('=')); };
  auto removed = [&](std::string_view name) {
    for (const auto& r : remove) {
      if (!r.empty() && r.back() == '*') {
        if (name.substr(0, r.size() - 1) == std::string_view(r).substr(0, r.size() - 1)) {
          return true;
        }
      } else if (name == r) {
        return true;
      }
    }
    for (const auto& o : overrides) {
      if (name_of(o) == name) return true;
    }
    return false;
  };
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!removed(name_of(*e))) out.emplace_back(*e);
  }
  for (const auto& o : overrides) out.push_back(o);
  return out;
}

}  // namespace owsync::cli
