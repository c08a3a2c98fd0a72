// AckedOffsetMonitor: a background thread that samples a tenant's acknowledged offset
// (sync_metadata.tenant_offsets.acked_offset, as the administrator) every few milliseconds and
// records every decrease. Survives PostgreSQL restarts: a failed read drops the connection
// and the next sample reconnects. Start() once; Stop() (or the destructor) joins the thread;
// the accessors are safe from any thread.
#ifndef OWSYNC_TESTS_ACKED_OFFSET_MONITOR_H_
#define OWSYNC_TESTS_ACKED_OFFSET_MONITOR_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/clock.h"

namespace owsync::tests {

class AckedOffsetMonitor {
 public:
  AckedOffsetMonitor(Clock* clock, std::string admin_url, std::string client,
                     int64_t period_micros = 10'000);
  ~AckedOffsetMonitor();
  AckedOffsetMonitor(const AckedOffsetMonitor&) = delete;
  AckedOffsetMonitor& operator=(const AckedOffsetMonitor&) = delete;

  void Start();
  void Stop();

  int64_t samples() const { return samples_.load(); }
  int64_t failed_samples() const { return failed_.load(); }
  int64_t last() const { return last_.load(); }  // -1 before the first sample
  // "acked went from 120 to 80" for each decrease seen.
  std::vector<std::string> decreases() const;

 private:
  void Loop();

  Clock* clock_;
  std::string admin_url_;
  std::string client_;
  int64_t period_micros_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> samples_{0};
  std::atomic<int64_t> failed_{0};
  std::atomic<int64_t> last_{-1};
  mutable std::mutex mu_;
  std::vector<std::string> decreases_;
  std::thread thread_;
};

}  // namespace owsync::tests

#endif  // OWSYNC_TESTS_ACKED_OFFSET_MONITOR_H_
