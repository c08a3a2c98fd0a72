#include "shipper/durable_offset.h"

#include "outbox/format.h"
#include "outbox/identity_file.h"
#include "outbox/watermark.h"

namespace owsync::shipper {

Result<std::optional<uint64_t>> ReadDurableOffset(FileSystem* fs, const std::string& outbox_dir) {
  OWSYNC_ASSIGN_OR_RETURN(
      outbox::Identity id,
      outbox::IdentityFile::Read(fs, outbox_dir + "/" + outbox::format::kIdentityFileName));
  OWSYNC_ASSIGN_OR_RETURN(
      std::optional<outbox::Watermark> mark,
      outbox::Watermark::Read(fs, outbox_dir + "/" + outbox::format::kDurableFileName));
  if (!mark.has_value() || mark->id_hash != outbox::IdentityFile::Hash(id.outbox_id)) {
    return std::optional<uint64_t>();
  }
  return std::optional<uint64_t>(mark->durable_offset);
}

}  // namespace owsync::shipper
