// FakeClock: a Clock that moves only when told to (Advance) or when someone sleeps on it.
// Thread-safe.
#ifndef OWSYNC_UTIL_FAKE_CLOCK_H_
#define OWSYNC_UTIL_FAKE_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "util/clock.h"

namespace owsync {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_micros = 1'700'000'000'000'000) : now_(start_micros) {}
  int64_t NowMicros() override { return now_.load(); }
  int64_t MonotonicMicros() override { return now_.load(); }
  // Sleeping advances the fake time instead of waiting.
  void SleepForMicros(int64_t micros) override {
    if (micros > 0) now_.fetch_add(micros);
  }
  void Advance(int64_t micros) { now_.fetch_add(micros); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace owsync

#endif  // OWSYNC_UTIL_FAKE_CLOCK_H_
