#include "util/clock.h"

#include <time.h>

#include <cerrno>

namespace owsync {
namespace {

int64_t ReadClock(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

class SystemClock final : public Clock {
 public:
  int64_t NowMicros() override { return ReadClock(CLOCK_REALTIME); }
  int64_t MonotonicMicros() override { return ReadClock(CLOCK_BOOTTIME); }
  void SleepForMicros(int64_t micros) override {
    if (micros <= 0) return;
    timespec ts{static_cast<time_t>(micros / 1000000), static_cast<long>(micros % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
};

}  // namespace

std::unique_ptr<Clock> NewSystemClock() { return std::make_unique<SystemClock>(); }

}  // namespace owsync
