// LockUrlCheck: LOCK_DATABASE_URL must reach the very database DATABASE_URL does. The fast
// path works by a follower seeing, in pg_locks of its own database, that the leader's lock
// session is gone; a lock held in another database (or server) is never seen there, so every
// follower statement would take the lease over at once and the pair would swap leaders twice
// a second. Checked when a node starts: the session opened with the lock URL must show up in
// pg_stat_activity of the DATABASE_URL connection, in its database.
#ifndef OWSYNC_SHIPPER_LOCK_URL_CHECK_H_
#define OWSYNC_SHIPPER_LOCK_URL_CHECK_H_

#include <string>

#include "shipper/deadline.h"
#include "util/clock.h"
#include "util/status.h"

namespace owsync::shipper {

class LockUrlCheck {
 public:
  // OK when both URLs reach one database; InvalidArgument (a configuration error, naming both
  // databases and the fix) when they do not; connection errors as PgConnection returns them
  // (the caller tries again later).
  [[nodiscard]] static Status Run(Clock* clock, const std::string& url, const std::string& lock_url,
                                  Deadline deadline);
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_LOCK_URL_CHECK_H_
