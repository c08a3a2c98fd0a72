// EpochSource: where a shipper learns its leader epoch (the fencing token it writes with).
// Implemented by the lease (shipper/lease.h); tests may use a fixed epoch.
#ifndef OWSYNC_SHIPPER_EPOCH_SOURCE_H_
#define OWSYNC_SHIPPER_EPOCH_SOURCE_H_

#include <cstdint>

namespace owsync::shipper {

class EpochSource {
 public:
  virtual ~EpochSource() = default;
  // The epoch this node may ship with now, or 0 when it must not ship (not the leader, or
  // its lease may have expired). Thread-safe.
  virtual int64_t CurrentEpoch() const = 0;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_EPOCH_SOURCE_H_
