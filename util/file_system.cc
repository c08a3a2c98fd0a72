// The FileSystem convenience helpers (file_system.h); they use only the interface.
#include "util/file_system.h"

#include <string>

namespace owsync {

Result<std::string> ReadFileToString(FileSystem* fs, const std::string& path) {
  OWSYNC_ASSIGN_OR_RETURN(auto file, fs->NewRandomAccessFile(path));
  std::string contents;
  std::string chunk;
  constexpr size_t kChunk = 1 << 20;
  while (true) {
    OWSYNC_RETURN_IF_ERROR(file->Read(contents.size(), kChunk, &chunk));
    if (chunk.empty()) break;
    contents += chunk;
  }
  return contents;
}

Status WriteFileAtomically(FileSystem* fs, const std::string& path, std::string_view data) {
  // The temp file sits in the same directory so the rename never crosses filesystems. Two
  // concurrent writers of the same path would share it: callers serialize writes to one path.
  const std::string tmp = path + ".tmp";
  Status s = [&]() -> Status {
    OWSYNC_ASSIGN_OR_RETURN(auto file, fs->NewWritableFile(tmp));
    OWSYNC_RETURN_IF_ERROR(file->Append(data));
    OWSYNC_RETURN_IF_ERROR(file->Sync());
    OWSYNC_RETURN_IF_ERROR(file->Close());
    OWSYNC_RETURN_IF_ERROR(fs->RenameFile(tmp, path));
    return fs->SyncDir(DirName(path));
  }();
  if (!s.ok() && fs->FileExists(tmp)) {
    (void)fs->DeleteFile(tmp);  // best effort; the original error is what matters
  }
  return s.WithContext("writing " + path);
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (name.empty()) return std::string(dir);
  std::string out(dir);
  if (out.back() != '/') out += '/';
  while (!name.empty() && name.front() == '/') name.remove_prefix(1);
  out += name;
  return out;
}

std::string DirName(std::string_view path) {
  // Trailing slashes do not make a new component: DirName("a/b/") == "a".
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  std::string_view dir = path.substr(0, slash);
  while (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
  return std::string(dir);
}

}  // namespace owsync
