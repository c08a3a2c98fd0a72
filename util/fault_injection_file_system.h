// FaultInjectionFileSystem: wraps another FileSystem (normally a MemFileSystem; a POSIX one
// works too) and models what a crash or a failing disk does to it, for tests.
//
// It tracks, per file, how many bytes were made durable by Sync() (or Truncate()), and per
// directory which entries were created, deleted or renamed since its last SyncDir(). Files it
// has not seen before are assumed fully durable. Directories themselves are not modeled
// (CreateDirs is durable at once), nor are lock files.
//
// Faults (all thread-safe; set them from the test thread while the code under test runs):
//  - DropUnsyncedData(): a power loss. Every file is cut back to its synced length; files created
//    since their directory's last SyncDir disappear; deletions and renames not followed by a
//    SyncDir are undone (the old names come back with their synced contents). Every
//    WritableFile opened before then fails with IOError afterwards (the process died).
//  - FailWriteAfter(n) / FailSyncAfter(n): counting from the call, n Appends (resp. WritableFile
//    Syncs; SyncDir is not counted) succeed; the (n+1)th and every later one fail with IOError
//    without touching the file (sticky, like a dying disk) until ClearFaults().
//  - TearNextWrite(keep): the next Append (on any file) writes only its first `keep` bytes and
//    returns IOError; that file object then fails every call, as if its process had crashed
//    mid-write. One-shot. The torn bytes are written but not synced (a later
//    DropUnsyncedData removes them; a mere process crash would keep them).
//  - SetFreeBytes(n): a disk with n bytes free. An Append larger than what is left fails with
//    NoSpace having written nothing; deleting or truncating files through this object gives
//    their bytes back. ClearFaults() makes space unlimited again.
#ifndef OWSYNC_UTIL_FAULT_INJECTION_FILE_SYSTEM_H_
#define OWSYNC_UTIL_FAULT_INJECTION_FILE_SYSTEM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/file_system.h"

namespace owsync {

class FaultInjectionFileSystem final : public FileSystem {
 public:
  // `base` is not owned and must outlive this object and every file opened through it.
  explicit FaultInjectionFileSystem(FileSystem* base);
  ~FaultInjectionFileSystem() override;

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

  // Simulates a power loss (see above). Errors come from the base filesystem.
  [[nodiscard]] Status DropUnsyncedData();
  void FailWriteAfter(int64_t n);
  void FailSyncAfter(int64_t n);
  void TearNextWrite(size_t keep_bytes);
  void SetFreeBytes(uint64_t n);
  // Removes every fault set above (tracking of synced data goes on).
  void ClearFaults();

  // Calls that reached the base filesystem successfully (for tests of fsync policies).
  int64_t SyncCount() const;
  int64_t SyncDirCount() const;

  class Impl;  // shared with open files (defined in the .cc)

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace owsync

#endif  // OWSYNC_UTIL_FAULT_INJECTION_FILE_SYSTEM_H_
