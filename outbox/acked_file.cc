#include "outbox/acked_file.h"

#include <charconv>

#include "outbox/format.h"
#include "outbox/key_value_file.h"
#include "outbox/outbox_dir.h"
#include "outbox/record_fingerprint.h"
#include "outbox/segment_header.h"

namespace owsync::outbox {

Status AckedFile::Write(FileSystem* fs, const std::string& outbox_dir, const Acked& acked) {
  if (!IsValidId(acked.outbox_id, false)) {
    return Status::InvalidArgument("ACKED: invalid outbox id \"" + acked.outbox_id + "\"");
  }
  if (!acked.fingerprint.empty() && !IsFingerprintHex(acked.fingerprint)) {
    return Status::InvalidArgument("ACKED: invalid fingerprint \"" + acked.fingerprint + "\"");
  }
  std::vector<std::pair<std::string, std::string>> pairs = {
      {"outbox_id", acked.outbox_id}, {"acked_offset", std::to_string(acked.acked_offset)}};
  if (!acked.fingerprint.empty()) pairs.emplace_back("acked_fingerprint", acked.fingerprint);
  return WriteFileAtomically(fs, OutboxDir(outbox_dir).AckedPath(),
                             KeyValueFile::Format(format::kAckedFirstLine, pairs));
}

Result<Acked> AckedFile::Read(FileSystem* fs, const std::string& outbox_dir) {
  const std::string path = OutboxDir(outbox_dir).AckedPath();
  OWSYNC_ASSIGN_OR_RETURN(std::string text, ReadFileToString(fs, path));
  OWSYNC_ASSIGN_OR_RETURN(
      std::vector<std::string> v,
      KeyValueFile::Parse(text, path, format::kAckedFirstLine, {"outbox_id", "acked_offset"},
                          {"acked_fingerprint"}));
  Acked acked;
  acked.outbox_id = v[0];
  if (!IsValidId(acked.outbox_id, false)) return Status::Corruption(path + ": invalid outbox id");
  const std::string& n = v[1];
  const auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), acked.acked_offset);
  if (n.empty() || ec != std::errc() || ptr != n.data() + n.size() ||
      (n.size() > 1 && n[0] == '0')) {
    return Status::Corruption(path + ": acked_offset \"" + n + "\" is not a decimal number");
  }
  acked.fingerprint = v[2];
  if (!acked.fingerprint.empty() && !IsFingerprintHex(acked.fingerprint)) {
    return Status::Corruption(path + ": acked_fingerprint is not 16 lower-case hex digits");
  }
  return acked;
}

}  // namespace owsync::outbox
