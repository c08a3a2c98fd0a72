// RepairRequest: what the shipper asks capture to send again after in-stream verification found
// PostgreSQL different from SQLite over some rows (drift): the current image (or a delete) of
// each listed key of one table. One file per request in the outbox directory,
//   repair/<20-digit offset of the verify record that found it>-<table hash>.req,
// written by the shipper atomically, read by capture, and deleted once the records it appended
// for it are durable (a crash in between sends them twice: harmless, records are full images).
// Text: "owsync-repair 1", "outbox_id=<id>", "table_hex=<hex of the table name>", then one
// "key=<hex of an encoded kDelete record carrying the key>" line per key.
#ifndef OWSYNC_OUTBOX_REPAIR_REQUEST_H_
#define OWSYNC_OUTBOX_REPAIR_REQUEST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "outbox/value.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::outbox {

struct RepairRequest {
  std::string outbox_id;
  uint64_t verify_offset = 0;
  std::string table;
  std::vector<std::vector<Value>> keys;
  friend bool operator==(const RepairRequest&, const RepairRequest&) = default;
};

class RepairRequestFile {
 public:
  static constexpr char kDirName[] = "repair";

  // Writes `request` into outbox_dir/repair/ atomically (creating the directory).
  [[nodiscard]] static Status Write(FileSystem* fs, const std::string& outbox_dir,
                                    const RepairRequest& request);
  // The request files waiting, oldest first (full paths; none when the directory is missing).
  static Result<std::vector<std::string>> List(FileSystem* fs, const std::string& outbox_dir);
  // Corruption when the file is malformed.
  static Result<RepairRequest> Read(FileSystem* fs, const std::string& path);
  [[nodiscard]] static Status Remove(FileSystem* fs, const std::string& path);
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_REPAIR_REQUEST_H_
