// Deadline: an absolute point on a Clock's monotonic time (Clock::MonotonicMicros) by which a
// PostgreSQL call must have returned. Cheap value type.
#ifndef OWSYNC_SHIPPER_DEADLINE_H_
#define OWSYNC_SHIPPER_DEADLINE_H_

#include <algorithm>
#include <cstdint>

#include "util/clock.h"

namespace owsync::shipper {

class Deadline {
 public:
  static Deadline After(Clock* clock, int64_t micros) {
    return Deadline(clock->MonotonicMicros() + std::max<int64_t>(micros, 0));
  }
  static Deadline AtMonotonicMicros(int64_t micros) { return Deadline(micros); }

  int64_t monotonic_micros() const { return at_; }
  // Microseconds left (0 once passed).
  int64_t RemainingMicros(Clock* clock) const {
    return std::max<int64_t>(at_ - clock->MonotonicMicros(), 0);
  }
  bool Passed(Clock* clock) const { return clock->MonotonicMicros() >= at_; }

 private:
  explicit Deadline(int64_t at) : at_(at) {}
  int64_t at_;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_DEADLINE_H_
