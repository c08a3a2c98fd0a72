#include "outbox/identity_file.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>

#include "outbox/format.h"
#include "outbox/key_value_file.h"
#include "outbox/segment_header.h"

namespace owsync::outbox {

Result<Identity> IdentityFile::Read(FileSystem* fs, const std::string& path) {
  OWSYNC_ASSIGN_OR_RETURN(std::string text, ReadFileToString(fs, path));
  OWSYNC_ASSIGN_OR_RETURN(std::vector<std::string> v,
                          KeyValueFile::Parse(text, path, format::kIdentityFirstLine,
                                              {"outbox_id", "database_generation"}));
  Identity id{v[0], v[1]};
  if (!IsValidId(id.outbox_id, false) || !IsValidId(id.database_generation, true)) {
    return Status::Corruption(path + ": ids outside printable ASCII or too long");
  }
  return id;
}

Status IdentityFile::Write(FileSystem* fs, const std::string& path, const Identity& id) {
  if (!IsValidId(id.outbox_id, false) || !IsValidId(id.database_generation, true)) {
    return Status::InvalidArgument("outbox id or database generation not storable: \"" +
                                   id.outbox_id + "\", \"" + id.database_generation + "\"");
  }
  return WriteFileAtomically(
      fs, path,
      KeyValueFile::Format(
          format::kIdentityFirstLine,
          {{"outbox_id", id.outbox_id}, {"database_generation", id.database_generation}}));
}

Result<std::string> IdentityFile::NewOutboxId() {
  unsigned char b[16];
  size_t got = 0;
  while (got < sizeof(b)) {
    const ssize_t n = ::getrandom(b + got, sizeof(b) - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("getrandom", errno);
    }
    got += static_cast<size_t>(n);
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof(out),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return std::string(out);
}

uint64_t IdentityFile::Hash(std::string_view outbox_id) {
  uint64_t h = format::kFnvOffsetBasis;
  for (char c : outbox_id) {
    h ^= static_cast<unsigned char>(c);
    h *= format::kFnvPrime;
  }
  return h;
}

}  // namespace owsync::outbox
