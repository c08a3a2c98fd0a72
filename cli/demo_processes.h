// DemoProcesses: the `owsync` child processes of `owsync demo` (this same binary, re-executed
// through /proc/self/exe): short commands run to their end (provision, capture --once) and the
// long-running sidecars (capture, the two ship nodes) started in the background. Every child
// gets its own process group (a terminal's Ctrl-C reaches only the demo, which stops the
// children in order), SIGTERM if the demo dies, the environment given (plus its own entries),
// and its output appended to a log file (a restarted child appends to the same one).
// StopAll() (also run by the destructor) stops whatever still runs: SIGTERM, then SIGKILL after
// a grace period. Not thread-safe: the demo's main thread owns it.
#ifndef OWSYNC_CLI_DEMO_PROCESSES_H_
#define OWSYNC_CLI_DEMO_PROCESSES_H_

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "cli/child_process.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::cli {

class DemoProcesses {
 public:
  // `interrupted` (set on Ctrl-C) makes every wait return Aborted. All must outlive this.
  DemoProcesses(FileSystem* fs, Clock* clock, const std::atomic<bool>* interrupted,
                std::string log_dir, std::vector<std::string> env)
      : fs_(fs),
        clock_(clock),
        interrupted_(interrupted),
        log_dir_(std::move(log_dir)),
        env_(std::move(env)) {}
  ~DemoProcesses() { StopAll(); }
  DemoProcesses(const DemoProcesses&) = delete;
  DemoProcesses& operator=(const DemoProcesses&) = delete;

  // Runs `owsync ARGS` to its end (output in <log_dir>/<name>.log) and returns that output.
  // Internal (with the output's tail) when it does not exit 0; Aborted when interrupted.
  Result<std::string> Run(const std::string& name, const std::vector<std::string>& args);

  // Starts `owsync ARGS` in the background as `name` (output in <log_dir>/<name>.log), with
  // `env` (NAME=VALUE) added to or replacing the common environment.
  [[nodiscard]] Status Start(const std::string& name, const std::vector<std::string>& args,
                             const std::vector<std::string>& env = {});
  // The pid of background child `name`, -1 when it is not running (never started, stopped).
  pid_t Pid(const std::string& name) const;
  // OK while `name` runs; Internal naming how it ended (and its log's tail) once it exited.
  [[nodiscard]] Status CheckRunning(const std::string& name);
  // CheckRunning for every background child.
  [[nodiscard]] Status CheckAllRunning();
  // SIGTERM, then waits up to `grace_micros` (SIGKILL after); returns how it ended
  // ("exited with status 0"). Internal if it did not exit 0 after the SIGTERM.
  Result<std::string> Stop(const std::string& name, int64_t grace_micros);
  // SIGKILL (a crash: no cleanup in the child), then reaps it; returns how it ended.
  Result<std::string> Kill(const std::string& name);
  // Stops every background child, the newest first. Never fails.
  void StopAll();

  std::string LogPath(const std::string& name) const;

 private:
  Result<ChildProcess> Launch(const std::string& name, const std::vector<std::string>& args,
                              const std::vector<std::string>& env = {});
  // The entry of running child `name`, or end().
  std::vector<std::pair<std::string, ChildProcess>>::iterator Find(const std::string& name);
  std::string Tail(const std::string& name) const;

  FileSystem* fs_;
  Clock* clock_;
  const std::atomic<bool>* interrupted_;
  std::string log_dir_;
  std::vector<std::string> env_;
  std::vector<std::pair<std::string, ChildProcess>> running_;  // in start order
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_DEMO_PROCESSES_H_
