#include "cli/demo_processes.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>

#include "cli/local_postgres.h"

namespace owsync::cli {
namespace {

constexpr int64_t kPollMicros = 50'000;
constexpr int64_t kInterruptGraceMicros = 10'000'000;

bool ExitedZero(int wait_status) { return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0; }

}  // namespace

std::string DemoProcesses::LogPath(const std::string& name) const {
  return JoinPath(log_dir_, name + ".log");
}

std::string DemoProcesses::Tail(const std::string& name) const {
  auto text = ReadFileToString(fs_, LogPath(name));
  if (!text.ok()) return "";
  return "\n--- last lines of " + LogPath(name) + " ---\n" + LastLines(*text, 15);
}

Result<ChildProcess> DemoProcesses::Launch(const std::string& name,
                                           const std::vector<std::string>& args,
                                           const std::vector<std::string>& env) {
  ChildProcessOptions options;
  options.argv = {"/proc/self/exe"};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.env = env_;
  for (const std::string& entry : env) {
    const size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;  // not NAME=VALUE
    const std::string prefix = entry.substr(0, eq + 1);
    std::erase_if(*options.env, [&](const std::string& e) { return e.starts_with(prefix); });
    options.env->push_back(entry);
  }
  options.output_path = LogPath(name);
  options.own_process_group = true;
  options.parent_death_signal = SIGTERM;
  return ChildProcess::Start(options);
}

Result<std::string> DemoProcesses::Run(const std::string& name,
                                       const std::vector<std::string>& args) {
  const uint64_t log_start = fs_->FileExists(LogPath(name)) ? *fs_->GetFileSize(LogPath(name)) : 0;
  OWSYNC_ASSIGN_OR_RETURN(ChildProcess child, Launch(name, args));
  int64_t kill_at = 0;
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(std::optional<int> status, child.TryWait());
    if (status.has_value()) {
      if (interrupted_->load()) return Status::Aborted("interrupted");
      if (!ExitedZero(*status)) {
        return Status::Internal("owsync " + args[0] + " " + DescribeWaitStatus(*status) +
                                Tail(name));
      }
      break;
    }
    if (interrupted_->load() && kill_at == 0) {
      (void)child.Signal(SIGTERM);
      kill_at = clock_->MonotonicMicros() + kInterruptGraceMicros;
    } else if (kill_at != 0 && clock_->MonotonicMicros() >= kill_at) {
      (void)child.Signal(SIGKILL);
    }
    clock_->SleepForMicros(kPollMicros);
  }
  OWSYNC_ASSIGN_OR_RETURN(std::string text, ReadFileToString(fs_, LogPath(name)));
  return text.substr(std::min<uint64_t>(log_start, text.size()));
}

Status DemoProcesses::Start(const std::string& name, const std::vector<std::string>& args,
                            const std::vector<std::string>& env) {
  if (Find(name) != running_.end()) return Status::Internal("owsync " + name + " already runs");
  OWSYNC_ASSIGN_OR_RETURN(ChildProcess child, Launch(name, args, env));
  running_.emplace_back(name, std::move(child));
  return Status::OK();
}

std::vector<std::pair<std::string, ChildProcess>>::iterator DemoProcesses::Find(
    const std::string& name) {
  return std::find_if(running_.begin(), running_.end(),
                      [&](const auto& entry) { return entry.first == name; });
}

pid_t DemoProcesses::Pid(const std::string& name) const {
  for (const auto& [n, child] : running_) {
    if (n == name && child.running()) return child.pid();
  }
  return -1;
}

Result<std::string> DemoProcesses::Kill(const std::string& name) {
  auto it = Find(name);
  if (it == running_.end()) return Status::Internal("owsync " + name + " was not started");
  ChildProcess child = std::move(it->second);
  running_.erase(it);
  if (child.running()) OWSYNC_RETURN_IF_ERROR(child.Signal(SIGKILL));
  OWSYNC_ASSIGN_OR_RETURN(int status, child.Wait());
  return DescribeWaitStatus(status);
}

Status DemoProcesses::CheckRunning(const std::string& name) {
  for (auto& [n, child] : running_) {
    if (n != name) continue;
    OWSYNC_ASSIGN_OR_RETURN(std::optional<int> status, child.TryWait());
    if (!status.has_value()) return Status::OK();
    return Status::Internal("owsync " + name + " " + DescribeWaitStatus(*status) +
                            " while it should run" + Tail(name));
  }
  return Status::Internal("owsync " + name + " was not started");
}

Status DemoProcesses::CheckAllRunning() {
  std::vector<std::string> names;
  for (const auto& entry : running_) names.push_back(entry.first);
  for (const std::string& name : names) OWSYNC_RETURN_IF_ERROR(CheckRunning(name));
  return Status::OK();
}

Result<std::string> DemoProcesses::Stop(const std::string& name, int64_t grace_micros) {
  auto it = Find(name);
  if (it == running_.end()) return Status::Internal("owsync " + name + " was not started");
  ChildProcess child = std::move(it->second);
  running_.erase(it);
  if (child.running()) (void)child.Signal(SIGTERM);
  OWSYNC_ASSIGN_OR_RETURN(std::optional<int> status, child.WaitFor(clock_, grace_micros));
  if (!status.has_value()) {
    (void)child.Signal(SIGKILL);
    OWSYNC_ASSIGN_OR_RETURN(int killed, child.Wait());
    return Status::Internal("owsync " + name + " did not stop within " +
                            std::to_string(grace_micros / 1'000'000) + " s of SIGTERM; " +
                            DescribeWaitStatus(killed) + Tail(name));
  }
  if (!ExitedZero(*status)) {
    return Status::Internal("owsync " + name + " " + DescribeWaitStatus(*status) + Tail(name));
  }
  return DescribeWaitStatus(*status);
}

void DemoProcesses::StopAll() {
  while (!running_.empty()) {
    const std::string name = running_.back().first;
    (void)Stop(name, kInterruptGraceMicros);
  }
}

}  // namespace owsync::cli
