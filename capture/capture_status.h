// CaptureStatus: what `owsync capture --status` reports about one tenant database: whether
// capture is installed, its identity, the changelog's backlog (a stopped capture lets it grow),
// the tables with their keys, the ones not replicated and why, missing triggers and owed
// snapshots.
#ifndef OWSYNC_CAPTURE_CAPTURE_STATUS_H_
#define OWSYNC_CAPTURE_CAPTURE_STATUS_H_

#include <map>
#include <string>
#include <vector>

#include "capture/catalog.h"
#include "capture/changelog.h"

namespace owsync::capture {

struct CaptureStatus {
  bool installed = false;                   // owsync's tables exist in the database
  std::map<std::string, std::string> meta;  // _owsync_meta without the snapshot marks
  ChangelogStats changelog;
  Catalog catalog;
  std::vector<std::string> missing_triggers;             // replicable tables lacking them
  std::map<std::string, std::string> pending_snapshots;  // table -> why
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_CAPTURE_STATUS_H_
