// DemoWriter: the application of `owsync demo`: a WorkloadGenerator (cli/workload_generator.h)
// writing to the tenant database on its own thread at a steady rate, with live counts the
// demo's progress line reads from another thread. Start() once, then Stop() and Join().
#ifndef OWSYNC_CLI_DEMO_WRITER_H_
#define OWSYNC_CLI_DEMO_WRITER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "cli/workload_generator.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::cli {

class DemoWriter {
 public:
  // Opens the database of `options` (its limits and rate are ignored: `rate` here paces).
  static Result<std::unique_ptr<DemoWriter>> Open(FileSystem* fs, Clock* clock,
                                                  const WorkloadOptions& options, double rate);
  ~DemoWriter();  // stops and joins the thread
  DemoWriter(const DemoWriter&) = delete;
  DemoWriter& operator=(const DemoWriter&) = delete;

  void Start();
  void Stop() { stop_.store(true); }
  // Waits for the thread; the writer's error, if it failed.
  [[nodiscard]] Status Join();

  // Live, from any thread: committed transactions and rows they changed.
  int64_t transactions() const { return transactions_.load(); }
  int64_t rows_changed() const { return rows_changed_.load(); }
  // After Join(): every count, and the rows INSERT OR REPLACE collisions deleted.
  const WorkloadGenerator& generator() const { return *generator_; }

 private:
  DemoWriter(Clock* clock, std::unique_ptr<WorkloadGenerator> generator, double rate)
      : clock_(clock), generator_(std::move(generator)), rate_(rate) {}
  Status Loop();

  Clock* clock_;
  std::unique_ptr<WorkloadGenerator> generator_;
  double rate_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> transactions_{0};
  std::atomic<int64_t> rows_changed_{0};
  std::thread thread_;
  Status result_;
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_DEMO_WRITER_H_
