// ChildProcess: a program started with fork + exec (never through a shell), optionally as
// another user, in its own process group, with its output appended to a file. Move-only; a
// child still running when its ChildProcess is destroyed is killed (SIGKILL) and reaped, so
// no process outlives its owner by accident.
#ifndef OWSYNC_CLI_CHILD_PROCESS_H_
#define OWSYNC_CLI_CHILD_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "util/clock.h"
#include "util/result.h"

namespace owsync::cli {

// An account to run a child as.
struct UserIdentity {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};

// When this process runs as root: the unprivileged account PostgreSQL and pgbouncer must run
// as ("postgres", else "nobody"). nullopt when not root (they run as we do). NotFound when
// root and neither account exists.
Result<std::optional<UserIdentity>> ServerUserIfRoot();

struct ChildProcessOptions {
  // argv[0] is the program: an absolute path, or a name looked up in PATH when search_path.
  std::vector<std::string> argv;
  bool search_path = false;
  // NAME=VALUE entries; nullopt inherits this process's environment.
  std::optional<std::vector<std::string>> env;
  std::optional<UserIdentity> run_as;  // setgroups/setgid/setuid before exec
  std::string cwd;                     // "" keeps ours
  // stdout and stderr appended to this file (created mode 0600 by the child, so it belongs to
  // run_as); "" inherits ours. stdin is /dev/null when an output file is given.
  std::string output_path;
  bool own_process_group = false;  // terminal signals (Ctrl-C) then do not reach it
  // Signal the child gets when the thread that started it exits (PR_SET_PDEATHSIG); 0: none.
  // Start such a child from a thread that lives as long as the child should.
  int parent_death_signal = 0;
};

class ChildProcess {
 public:
  // Starts the program. An exec failure (missing binary, permissions) is reported here, not
  // as an exit status.
  static Result<ChildProcess> Start(const ChildProcessOptions& options);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !wait_status_.has_value(); }
  [[nodiscard]] Status Signal(int sig);
  // The wait status once the child exited (reaping it), nullopt while it runs.
  Result<std::optional<int>> TryWait();
  // Waits up to `timeout_micros` (polling on `clock`); nullopt if still running then.
  Result<std::optional<int>> WaitFor(Clock* clock, int64_t timeout_micros);
  // Blocks until the child exits.
  Result<int> Wait();

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  void KillAndReap();
  pid_t pid_ = -1;
  std::optional<int> wait_status_;
};

// "exited with status 3", "killed by signal 9 (Killed)".
std::string DescribeWaitStatus(int wait_status);
// The shell convention: the exit status, or 128 + signal number.
int ExitCodeOf(int wait_status);
// This process's environment with `overrides` (NAME=VALUE) replacing or adding entries and
// every variable named in `remove` (exact names, or prefixes ending in '*') dropped.
std::vector<std::string> EnvironmentWith(const std::vector<std::string>& overrides,
                                         const std::vector<std::string>& remove = {});

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_CHILD_PROCESS_H_
