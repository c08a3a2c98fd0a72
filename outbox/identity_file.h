// IdentityFile: the IDENTITY file of an outbox directory: its outbox id and the database
// generation it carries. Written atomically when an outbox or a generation is created.
#ifndef OWSYNC_OUTBOX_IDENTITY_FILE_H_
#define OWSYNC_OUTBOX_IDENTITY_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "util/file_system.h"
#include "util/result.h"

namespace owsync::outbox {

struct Identity {
  std::string outbox_id;
  std::string database_generation;
  friend bool operator==(const Identity&, const Identity&) = default;
};

class IdentityFile {
 public:
  // NotFound if `path` does not exist; Corruption if it is not a valid IDENTITY file.
  static Result<Identity> Read(FileSystem* fs, const std::string& path);
  // Replaces `path` atomically and durably. InvalidArgument for ids the format cannot hold.
  [[nodiscard]] static Status Write(FileSystem* fs, const std::string& path, const Identity& id);

  // A new random outbox id (UUID version 4 text, from getrandom(2)).
  static Result<std::string> NewOutboxId();
  // FNV-1a 64 of the id bytes: what DURABLE slots carry to name their outbox.
  static uint64_t Hash(std::string_view outbox_id);
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_IDENTITY_FILE_H_
