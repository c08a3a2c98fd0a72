#include "cli/demo_writer.h"

#include <algorithm>

namespace owsync::cli {

Result<std::unique_ptr<DemoWriter>> DemoWriter::Open(FileSystem* fs, Clock* clock,
                                                     const WorkloadOptions& options, double rate) {
  WorkloadOptions o = options;
  o.max_transactions = 0;
  o.max_seconds = 0;
  o.rate = 0;
  OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<WorkloadGenerator> generator,
                          WorkloadGenerator::Open(fs, clock, o));
  return std::unique_ptr<DemoWriter>(new DemoWriter(clock, std::move(generator), rate));
}

DemoWriter::~DemoWriter() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

void DemoWriter::Start() {
  thread_ = std::thread([this] { result_ = Loop(); });
}

Status DemoWriter::Join() {
  if (thread_.joinable()) thread_.join();
  return result_;
}

Status DemoWriter::Loop() {
  const int64_t start = clock_->MonotonicMicros();
  for (int64_t n = 0; !stop_.load(); ++n) {
    if (rate_ > 0) {
      // Transaction n is due at n / rate seconds; sleep in slices so Stop() is seen quickly.
      const int64_t due = start + static_cast<int64_t>(static_cast<double>(n) * 1e6 / rate_);
      int64_t wait;
      while ((wait = due - clock_->MonotonicMicros()) > 0 && !stop_.load()) {
        clock_->SleepForMicros(std::min<int64_t>(wait, 20'000));
      }
      if (stop_.load()) break;
    }
    OWSYNC_RETURN_IF_ERROR(generator_->RunTransaction());
    transactions_.store(generator_->counts().transactions);
    rows_changed_.store(generator_->counts().rows_changed);
  }
  return Status::OK();
}

}  // namespace owsync::cli
