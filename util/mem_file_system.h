// MemFileSystem: a FileSystem kept entirely in memory, for tests. Thread-safe.
//
// It follows POSIX where owsync relies on it: files need an existing parent directory ("/" and
// "." always exist), an open file keeps its contents after being deleted or renamed over, rename
// replaces the target atomically, DeleteDir fails on a non-empty directory, and LockFile
// conflicts between lock objects of this instance (Busy). Paths are used as given (no "..",
// no symlinks); trailing slashes are ignored. Sync and SyncDir succeed and do nothing: use
// FaultInjectionFileSystem on top of this to model what a crash would lose.
#ifndef OWSYNC_UTIL_MEM_FILE_SYSTEM_H_
#define OWSYNC_UTIL_MEM_FILE_SYSTEM_H_

#include <memory>
#include <string>
#include <vector>

#include "util/file_system.h"

namespace owsync {

class MemFileSystem final : public FileSystem {
 public:
  MemFileSystem();
  ~MemFileSystem() override;

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  bool FileExists(const std::string& path) override;
  Result<uint64_t> GetFileSize(const std::string& path) override;
  Result<std::vector<std::string>> GetChildren(const std::string& dir) override;
  [[nodiscard]] Status DeleteFile(const std::string& path) override;
  [[nodiscard]] Status RenameFile(const std::string& from, const std::string& to) override;
  [[nodiscard]] Status CreateDirs(const std::string& dir) override;
  [[nodiscard]] Status DeleteDir(const std::string& dir) override;
  [[nodiscard]] Status SyncDir(const std::string& dir) override;
  [[nodiscard]] Status Truncate(const std::string& path, uint64_t size) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;

  // Test helpers: the whole contents of a file, or every file path (sorted).
  Result<std::string> Contents(const std::string& path);
  std::vector<std::string> AllFiles();

  // Shared with open files and locks, which may outlive a lookup (defined in the .cc).
  struct State;

 private:
  Result<std::unique_ptr<WritableFile>> Open(const std::string& path, bool truncate);

  std::shared_ptr<State> state_;
};

}  // namespace owsync

#endif  // OWSYNC_UTIL_MEM_FILE_SYSTEM_H_
