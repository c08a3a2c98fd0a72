// ReadDurableOffset: the durable watermark a tenant's outbox publishes (DURABLE), read the way
// the shipper's reader does, for reports that need it now (the heartbeat's backlog, the target
// of a manual sync job) rather than as of the reader's last refresh.
#ifndef OWSYNC_SHIPPER_DURABLE_OFFSET_H_
#define OWSYNC_SHIPPER_DURABLE_OFFSET_H_

#include <cstdint>
#include <optional>
#include <string>

#include "util/file_system.h"
#include "util/result.h"

namespace owsync::shipper {

// Every record of the outbox in `outbox_dir` up to the returned offset is durable. nullopt
// when no valid watermark of the directory's current outbox id is published (yet); NotFound
// when the directory has no IDENTITY; IOError when a file cannot be read.
Result<std::optional<uint64_t>> ReadDurableOffset(FileSystem* fs, const std::string& outbox_dir);

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_DURABLE_OFFSET_H_
