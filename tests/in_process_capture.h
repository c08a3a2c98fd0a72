// InProcessCapture: one tenant for the fault-injection tests, all in this process and driven
// step by step (deterministic): a real SQLite database written by a WorkloadGenerator (the
// application) and captured by a CaptureLoop whose outbox lives on a FaultInjectionFileSystem
// over the real disk, so a test can fill the disk, fail writes or syncs, or drop unsynced data
// (a power loss) between any two steps. Time is a FakeClock (backoffs pass when advanced).
#ifndef OWSYNC_TESTS_IN_PROCESS_CAPTURE_H_
#define OWSYNC_TESTS_IN_PROCESS_CAPTURE_H_

#include <memory>
#include <string>

#include "capture/capture_loop.h"
#include "cli/workload_generator.h"
#include "tests/outbox_applier.h"
#include "tests/table_comparator.h"
#include "util/fake_clock.h"
#include "util/fault_injection_file_system.h"
#include "util/logger.h"
#include "util/scoped_temp_dir.h"

namespace owsync::testing {

class InProcessCapture {
 public:
  // A database made from `schema` in `journal` mode with `initial_transactions` written.
  static Result<std::unique_ptr<InProcessCapture>> Create(const std::string& schema,
                                                          const std::string& journal, uint64_t seed,
                                                          int64_t initial_transactions);
  ~InProcessCapture();

  FaultInjectionFileSystem* fault_fs() { return fault_fs_.get(); }
  FakeClock* clock() { return &clock_; }
  CapturingLogger* logger() { return &logger_; }
  capture::CaptureLoop* loop() { return loop_.get(); }
  cli::WorkloadGenerator* app() { return app_.get(); }
  const std::string& dir() const { return dir_.path(); }
  std::string db_path() const { return dir_.Child("webui.db"); }
  std::string outbox_dir() const { return dir_.Child("outbox"); }

  // The application commits `transactions` more transactions (each must succeed).
  [[nodiscard]] Status Write(int64_t transactions);
  // A new CaptureLoop over the faulty filesystem, started.
  [[nodiscard]] Status StartCapture();
  // The capture process dies: the loop is destroyed without stopping or committing.
  void CrashCapture() { loop_.reset(); }
  // Steps until the loop says no more work is waiting (or the writer failed), at most
  // `max_steps`. Error if a step fails.
  [[nodiscard]] Status StepUntilIdle(int max_steps = 10'000);
  // Lets every backoff pass (advances the fake clock by an hour).
  void PassBackoff() { clock_.Advance(3'600'000'000); }
  Result<int64_t> ChangelogRows();

  // Applies the current outbox generation to a new copy and compares it with the database
  // (tolerating rows INSERT OR REPLACE collisions deleted when `tolerate_victims`).
  Result<Comparison> Verify(bool tolerate_victims);
  const OutboxApplier* applier() const { return applier_.get(); }

 private:
  InProcessCapture(ScopedTempDir dir, uint64_t seed);

  ScopedTempDir dir_;
  uint64_t seed_;
  std::unique_ptr<FileSystem> posix_fs_;
  std::unique_ptr<FaultInjectionFileSystem> fault_fs_;
  FakeClock clock_;
  CapturingLogger logger_;
  std::unique_ptr<cli::WorkloadGenerator> app_;
  std::unique_ptr<capture::CaptureLoop> loop_;
  std::unique_ptr<OutboxApplier> applier_;
  int copies_ = 0;
};

}  // namespace owsync::testing

#endif  // OWSYNC_TESTS_IN_PROCESS_CAPTURE_H_
