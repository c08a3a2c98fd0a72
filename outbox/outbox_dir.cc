#include "outbox/outbox_dir.h"

#include <algorithm>
#include <cstdio>

#include "outbox/format.h"

namespace owsync::outbox {

std::string OutboxDir::LockPath() const { return JoinPath(dir_, format::kLockFileName); }
std::string OutboxDir::IdentityPath() const { return JoinPath(dir_, format::kIdentityFileName); }
std::string OutboxDir::DurablePath() const { return JoinPath(dir_, format::kDurableFileName); }
std::string OutboxDir::AckedPath() const { return JoinPath(dir_, format::kAckedFileName); }
std::string OutboxDir::RetiredDir() const { return JoinPath(dir_, format::kRetiredDirName); }
std::string OutboxDir::RetiredDir(std::string_view outbox_id) const {
  return JoinPath(RetiredDir(), outbox_id);
}
std::string OutboxDir::SegmentPath(uint64_t first_offset) const {
  return JoinPath(dir_, SegmentFileName(first_offset));
}

std::string OutboxDir::SegmentFileName(uint64_t first_offset) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(first_offset));
  return std::string(buf) + format::kSegmentSuffix;
}

std::optional<uint64_t> OutboxDir::ParseSegmentFileName(std::string_view name) {
  const std::string_view suffix = format::kSegmentSuffix;
  if (name.size() != format::kSegmentNameDigits + suffix.size()) return std::nullopt;
  if (name.substr(format::kSegmentNameDigits) != suffix) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 0; i < format::kSegmentNameDigits; ++i) {
    const char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  if (v == 0) return std::nullopt;
  return v;
}

Result<std::vector<SegmentFile>> OutboxDir::ListSegments(FileSystem* fs) const {
  OWSYNC_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->GetChildren(dir_));
  std::vector<SegmentFile> out;
  for (const std::string& name : names) {
    if (auto first = ParseSegmentFileName(name)) out.push_back({*first, JoinPath(dir_, name)});
  }
  std::sort(out.begin(), out.end(), [](const SegmentFile& a, const SegmentFile& b) {
    return a.first_offset < b.first_offset;
  });
  return out;
}

}  // namespace owsync::outbox
