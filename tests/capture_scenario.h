// CaptureScenario: one tenant for the capture chaos tests — a private directory with the
// database, its outbox and the logs — and the processes that act on it, all the real `owsync`
// binary started with fork/exec: the application (`owsync workload`), the capture sidecar
// (`owsync capture`, killed with SIGKILL and restarted at will) and `owsync capture --once`.
// Verify() applies the outbox to an empty copy (OutboxApplier) and compares it with the
// database (TableComparator). The directory is removed at the end unless
// OWSYNC_KEEP_TEST_DIRS=1 or a check failed (then its path is in the failure message).
#ifndef OWSYNC_TESTS_CAPTURE_SCENARIO_H_
#define OWSYNC_TESTS_CAPTURE_SCENARIO_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/child_process.h"
#include "cli/private_dir.h"
#include "tests/outbox_applier.h"
#include "tests/table_comparator.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::testing {

struct ScenarioOptions {
  std::string owsync_binary;  // path of the built `owsync`
  std::string schema;         // "v0.6.31" or "v0.11.0"
  std::string journal;        // "delete" or "wal"
  uint64_t seed = 1;
  // Transactions per second of the application; 0: journal-dependent default (200 with WAL,
  // 25 with DELETE, where every commit costs several fsyncs and a saturated database lock
  // starves every other connection, capture's included).
  double writer_rate = 0;
  int64_t initial_transactions = 150;  // written before capture first starts
  int capture_poll_ms = 20;
};

class CaptureScenario {
 public:
  static Result<std::unique_ptr<CaptureScenario>> Create(const ScenarioOptions& options);
  ~CaptureScenario();

  const std::string& dir() const { return dir_.path(); }
  std::string db_path() const { return dir_.Child("webui.db"); }
  std::string outbox_dir() const { return dir_.Child("outbox"); }
  std::string victims_path() const { return dir_.Child("victims.txt"); }
  FileSystem* fs() const { return fs_.get(); }
  Clock* clock() const { return clock_.get(); }

  // `owsync workload --init` with initial_transactions of the options.
  [[nodiscard]] Status InitDatabase();
  // The application: `owsync workload` paced at writer_rate until StopWriter(); each start gets
  // a new seed derived from the scenario's.
  // Starts the application-like writer and returns once it is writing.
  [[nodiscard]] Status StartWriter();
  // SIGTERM, then waits; error unless it exited 0. Returns its counts line.
  Result<std::string> StopWriter();
  bool writer_running() const { return writer_.has_value(); }

  // The capture sidecar: `owsync capture --poll-ms N` (plus `extra` arguments).
  [[nodiscard]] Status StartCapture(const std::vector<std::string>& extra = {});
  // SIGKILL, then reaps it. Error if it had exited by itself before (with its log tail).
  [[nodiscard]] Status KillCapture();
  bool capture_running() const { return capture_.has_value(); }
  // Error if the running capture exited by itself (with its log tail).
  [[nodiscard]] Status CheckCaptureAlive();
  // `owsync capture --once` (plus `extra`), waited for; error unless it exits 0.
  [[nodiscard]] Status CaptureOnce(const std::vector<std::string>& extra = {});

  // Sleeps `micros` on the real clock.
  void Sleep(int64_t micros) { clock_->SleepForMicros(micros); }

  // Applies the outbox (from the first retained offset) to a new copy named `copy_name` and
  // compares it with the database. `tolerate_victims`: rows INSERT OR REPLACE collisions
  // deleted (from the victims file) may still be in the copy. The applier is kept, so
  // ApplyMore() can continue it after more capture.
  Result<Comparison> Verify(const std::string& copy_name, bool tolerate_victims);
  // Applies what the outbox gained since the last Verify/ApplyMore to the same copy, compares.
  Result<Comparison> ApplyMore(bool tolerate_victims);
  const OutboxApplier* applier() const { return applier_.get(); }

  // Rows in the changelog (_owsync_changes), -1 if the table does not exist.
  Result<int64_t> ChangelogRows();
  // Snapshots capture still owes (marks in _owsync_meta), -1 if the table does not exist.
  Result<int64_t> SnapshotsOwed();
  // Waits (up to `timeout_micros`) until capture owes no snapshot; error with the log if not.
  [[nodiscard]] Status WaitSnapshotsDone(int64_t timeout_micros = 30'000'000);
  // The last `bytes` of a log file in the scenario directory ("capture.log", "writer.log", ...).
  std::string LogTail(const std::string& name, size_t bytes = 3000) const;
  // Marks the directory to be kept (a check failed); returns a note naming it.
  std::string KeepForInspection();

 private:
  CaptureScenario(const ScenarioOptions& options, std::unique_ptr<FileSystem> fs,
                  std::unique_ptr<Clock> clock, cli::PrivateDir dir);
  Result<Comparison> Compare(bool tolerate_victims);
  Result<cli::ChildProcess> Spawn(const std::vector<std::string>& args, const std::string& log);
  [[nodiscard]] Status WaitWriterReady();

  ScenarioOptions options_;
  std::unique_ptr<FileSystem> fs_;
  std::unique_ptr<Clock> clock_;
  cli::PrivateDir dir_;
  std::optional<cli::ChildProcess> writer_;
  std::optional<cli::ChildProcess> capture_;
  int writer_starts_ = 0;
  int capture_starts_ = 0;
  std::unique_ptr<OutboxApplier> applier_;
};

}  // namespace owsync::testing

#endif  // OWSYNC_TESTS_CAPTURE_SCENARIO_H_
