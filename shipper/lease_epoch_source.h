// LeaseEpochSource: the EpochSource of a node that ships while it holds the cluster lease.
#ifndef OWSYNC_SHIPPER_LEASE_EPOCH_SOURCE_H_
#define OWSYNC_SHIPPER_LEASE_EPOCH_SOURCE_H_

#include "shipper/epoch_source.h"
#include "shipper/lease.h"

namespace owsync::shipper {

class LeaseEpochSource : public EpochSource {
 public:
  explicit LeaseEpochSource(const Lease* lease) : lease_(lease) {}
  int64_t CurrentEpoch() const override { return lease_->epoch(); }

 private:
  const Lease* lease_;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_LEASE_EPOCH_SOURCE_H_
