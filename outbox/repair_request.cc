#include "outbox/repair_request.h"

#include <algorithm>
#include <cstdio>

#include "outbox/record.h"
#include "outbox/record_codec.h"
#include "util/hex.h"

namespace owsync::outbox {
namespace {

constexpr char kFirstLine[] = "owsync-repair 1";
constexpr char kSuffix[] = ".req";

uint64_t NameHash(const std::string& s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

Status RepairRequestFile::Write(FileSystem* fs, const std::string& outbox_dir,
                                const RepairRequest& request) {
  const std::string dir = outbox_dir + "/" + kDirName;
  OWSYNC_RETURN_IF_ERROR(fs->CreateDirs(dir));
  std::string text = std::string(kFirstLine) + "\noutbox_id=" + request.outbox_id +
                     "\ntable_hex=" + HexEncode(request.table) + "\n";
  for (const auto& key : request.keys) {
    Record r;
    r.type = RecordType::kDelete;
    r.table = request.table;
    r.key = key;
    std::string bytes;
    EncodeRecord(r, &bytes);
    text += "key=" + HexEncode(bytes) + "\n";
  }
  char name[64];
  std::snprintf(name, sizeof(name), "%020llu-%016llx%s",
                static_cast<unsigned long long>(request.verify_offset),
                static_cast<unsigned long long>(NameHash(request.table)), kSuffix);
  return WriteFileAtomically(fs, dir + "/" + name, text);
}

Result<std::vector<std::string>> RepairRequestFile::List(FileSystem* fs,
                                                         const std::string& outbox_dir) {
  const std::string dir = outbox_dir + "/" + kDirName;
  if (!fs->FileExists(dir)) return std::vector<std::string>{};
  OWSYNC_ASSIGN_OR_RETURN(std::vector<std::string> children, fs->GetChildren(dir));
  std::vector<std::string> out;
  for (const std::string& c : children) {
    if (c.size() > 4 && c.compare(c.size() - 4, 4, kSuffix) == 0) out.push_back(dir + "/" + c);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<RepairRequest> RepairRequestFile::Read(FileSystem* fs, const std::string& path) {
  OWSYNC_ASSIGN_OR_RETURN(std::string text, ReadFileToString(fs, path));
  auto bad = [&](const std::string& why) { return Status::Corruption(path + ": " + why); };
  RepairRequest req;
  const size_t slash = path.rfind('/');
  const std::string name = path.substr(slash == std::string::npos ? 0 : slash + 1);
  req.verify_offset = std::strtoull(name.c_str(), nullptr, 10);
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) return bad("last line not terminated");
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line_no == 1) {
      if (line != kFirstLine) return bad("not a repair request");
    } else if (line.rfind("outbox_id=", 0) == 0) {
      req.outbox_id = line.substr(10);
    } else if (line.rfind("table_hex=", 0) == 0) {
      if (!HexDecode(line.substr(10), &req.table)) return bad("bad table_hex");
    } else if (line.rfind("key=", 0) == 0) {
      std::string bytes;
      Record r;
      if (!HexDecode(line.substr(4), &bytes) || !DecodeRecord(bytes, &r).ok())
        return bad("bad key");
      req.keys.push_back(std::move(r.key));
    } else {
      return bad("unexpected line " + std::to_string(line_no));
    }
  }
  if (req.outbox_id.empty() || req.table.empty()) return bad("outbox_id or table missing");
  return req;
}

Status RepairRequestFile::Remove(FileSystem* fs, const std::string& path) {
  return fs->DeleteFile(path);
}

}  // namespace owsync::outbox
