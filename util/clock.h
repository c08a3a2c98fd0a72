// Clock: the only way owsync reads time or sleeps, so tests can control it (FakeClock).
#ifndef OWSYNC_UTIL_CLOCK_H_
#define OWSYNC_UTIL_CLOCK_H_

#include <cstdint>
#include <memory>

namespace owsync {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, microseconds since the Unix epoch (for logs and records; never for leases).
  virtual int64_t NowMicros() = 0;
  // Monotonic time that keeps counting through a suspend (CLOCK_BOOTTIME), microseconds.
  virtual int64_t MonotonicMicros() = 0;
  virtual void SleepForMicros(int64_t micros) = 0;
};

// The real clocks. Stateless; cheap to create.
std::unique_ptr<Clock> NewSystemClock();

}  // namespace owsync

#endif  // OWSYNC_UTIL_CLOCK_H_
