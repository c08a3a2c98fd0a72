// DemoRun: the story `owsync demo` tells, one method per phase, each printing what it did:
//   1. Postgres()       a private PostgreSQL 15 (LocalPostgres), `db init`, a host registered
//                       with its own login role (`db add-host`), checked as that role;
//   2. Sample()         a sample Open WebUI database (DemoSample: large chat JSON, many small
//                       message rows, the general application mix);
//   3. Provision()      `owsync provision` of the tenant for that host;
//   4. InitialSync()    `owsync capture --once` (the initial snapshot), then the sidecars
//                       `owsync ship` (as the host role) and `owsync capture`, continuous,
//                       until PostgreSQL acknowledged the whole snapshot;
//   5. Write()          the application (DemoWriter) writes for N seconds while both run; a
//                       progress line every second (rows written, outbox durable offset,
//                       PostgreSQL acked offset, lag);
//   6. CatchUp()        the writer stops; capture drains (and re-snapshots the tables where
//                       INSERT OR REPLACE deleted rows without a trigger); wait until acked ==
//                       durable; ship stops;
//   7. Verify()         cli/verifier.h as the host role: must be equal;
// then Summary(). Cleanup() (also from the destructor, so on errors and Ctrl-C too) stops every
// child, then PostgreSQL, and removes the working directory unless --keep.
// A failover phase (an HA pair) will slot in between Write() and CatchUp().
#ifndef OWSYNC_CLI_DEMO_RUN_H_
#define OWSYNC_CLI_DEMO_RUN_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli_context.h"
#include "cli/demo_monitor.h"
#include "cli/demo_processes.h"
#include "cli/demo_sample.h"
#include "cli/demo_summary.h"
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
  Status CatchUp();
  Status Verify();
  void Summary();

  // Polls the offsets (a progress line every second) until `done` says stop, a sidecar
  // dies, Ctrl-C, or `timeout_micros` passes (DeadlineExceeded-like Internal error).
  Status WaitUntilCaughtUp(const std::string& what, int64_t timeout_micros);
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
  std::optional<DemoMonitor> monitor_;
  std::string host_role_;
  std::string host_url_;  // with the password: never printed, passed through a 0600 file
  std::function<int64_t()> rows_written_;  // for the progress line

  DemoSummary summary_;  // what the summary reports, filled in by the phases
  std::optional<VerifyReport> verify_;
  bool cleaned_up_ = false;
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_DEMO_RUN_H_
