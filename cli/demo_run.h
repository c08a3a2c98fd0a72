// DemoRun: the story `owsync demo` tells, one method per phase, each printing what it did:
//   1. Postgres()       a private PostgreSQL 15 (LocalPostgres), `db init`, a host registered
//                       with its own login role (`db add-host`), checked as that role;
//   2. Sample()         a sample Open WebUI database (DemoSample: large chat JSON, many small
//                       message rows, the general application mix);
//   3. Provision()      `owsync provision` of the tenant for that host;
//   4. InitialSync()    `owsync capture --once` (the initial snapshot), then the sidecars: an HA
//                       pair of `owsync ship` nodes (DemoFailover, as the host role) and
//                       `owsync capture`, continuous, until PostgreSQL acknowledged the snapshot;
//   5. Write()          the application (DemoWriter) starts writing while all run; a progress
//                       line every second (rows written, outbox durable offset, PostgreSQL
//                       acked offset, lag) for the first half of the writing time;
//   6. Failover()       mid-stream, the leading ship node is SIGKILLed; the takeover is measured
//                       and the killed node restarted (it must follow); the application writes
//                       on until the writing time is over, then stops (StopWriter);
//   7. CatchUp()        capture drains (and re-snapshots the tables where INSERT OR REPLACE
//                       deleted rows without a trigger); wait until acked == durable; the ship
//                       nodes stop (the follower first);
//   8. Verify()         cli/verifier.h as the host role: must be equal;
// then Summary(). Cleanup() (also from the destructor, so on errors and Ctrl-C too) stops the
// writer and every child, then PostgreSQL, and removes the working directory unless --keep.
#ifndef OWSYNC_CLI_DEMO_RUN_H_
#define OWSYNC_CLI_DEMO_RUN_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli_context.h"
#include "cli/demo_failover.h"
#include "cli/demo_monitor.h"
#include "cli/demo_processes.h"
#include "cli/demo_sample.h"
#include "cli/demo_summary.h"
#include "cli/demo_writer.h"
#include "cli/local_postgres.h"
#include "cli/private_dir.h"
#include "cli/verifier.h"

namespace owsync::cli {

struct DemoOptions {
  double seconds = 20;  // how long the application writes while shipping
  double rate = 100;    // its transactions per second
  int64_t chats = 400;  // sample conversations (each with messages_per_chat messages)
  int messages_per_chat = 10;
  bool keep = false;  // keep the working directory and PostgreSQL's data
  std::string client = "demo";
};

class DemoRun {
 public:
  // `interrupted` is set (by a signal watcher) on Ctrl-C; every phase then returns Aborted.
  DemoRun(CliContext* ctx, DemoOptions options, const std::atomic<bool>* interrupted)
      : ctx_(ctx), options_(std::move(options)), interrupted_(interrupted) {}
  ~DemoRun() { Cleanup(); }
  DemoRun(const DemoRun&) = delete;
  DemoRun& operator=(const DemoRun&) = delete;

  // Every phase in order; OK when verify found the copy equal.
  [[nodiscard]] Status Run();
  // Stops the children and PostgreSQL; removes (or with keep, keeps) the files. Idempotent.
  void Cleanup();

 private:
  Status Postgres();
  Status Sample();
  Status Provision();
  Status InitialSync();
  Status Write();
  Status Failover();
  Status StopWriter();
  Status CatchUp();
  Status Verify();
  void Summary();

  // Polls the offsets (a progress line every second) until acked == durable, a sidecar dies,
  // Ctrl-C, or `timeout_micros` passes (Internal).
  Status WaitUntilCaughtUp(const std::string& what, int64_t timeout_micros);
  // Ctrl-C and the sidecars checked; the offsets sampled if 0.1 s passed since the last
  // sample (else nullopt), a progress line if a second passed since the last one.
  Result<std::optional<DemoOffsets>> Poll();
  // Poll(), keeping the lag while the application writes. Called often (DemoFailover's polls).
  Status Tick();
  // Tick() until the monotonic time `end`.
  Status WriteUntil(int64_t end);
  void Progress(const DemoOffsets& o);
  Status CheckInterrupted() const;
  void Say(const std::string& line) const;
  std::string Path(const std::string& name) const { return JoinPath(dir_, name); }

  CliContext* ctx_;
  DemoOptions options_;
  const std::atomic<bool>* interrupted_;
  int64_t start_micros_ = 0;
  std::optional<PrivateDir> private_dir_;
  std::string dir_;
  std::unique_ptr<LocalPostgres> pg_;
  std::unique_ptr<DemoProcesses> processes_;
  std::unique_ptr<DemoFailover> failover_;  // the ship pair
  std::unique_ptr<DemoWriter> writer_;      // while the application writes
  std::optional<DemoMonitor> monitor_;
  std::string host_role_;
  std::string host_url_;  // with the password: never printed, passed through a 0600 file
  std::function<int64_t()> rows_written_;  // for the progress line
  int64_t write_start_ = 0;                // monotonic micros: writing time
  int64_t write_end_ = 0;
  int64_t next_sample_ = 0;  // Poll(): next offsets sample, next progress line
  int64_t next_print_ = 0;

  DemoSummary summary_;  // what the summary reports, filled in by the phases
  bool cleaned_up_ = false;
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_DEMO_RUN_H_
