// FileSystem: every byte owsync reads or writes on local disk goes through this interface, so
// tests can drop unsynced data, fail the Nth write or sync, tear the last write or fill the disk
// (FaultInjectionFileSystem) without touching real files (MemFileSystem).
//
// Durability contract: data appended to a WritableFile is durable only after Sync() returned OK;
// a new or deleted directory entry is durable only after SyncDir() of its parent returned OK.
// Implementations are thread-safe for distinct files; one file object is used by one thread.
#ifndef OWSYNC_UTIL_FILE_SYSTEM_H_
#define OWSYNC_UTIL_FILE_SYSTEM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"
#include "util/status.h"

namespace owsync {

// A file opened for appending. Owned by its creator; closed on destruction (errors then lost:
// call Close() to see them).
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  [[nodiscard]] virtual Status Append(std::string_view data) = 0;
  // Makes everything appended so far durable (fdatasync).
  [[nodiscard]] virtual Status Sync() = 0;
  // A hint: start writing what was appended to the device now, without waiting, so that a later
  // Sync() has less left to wait for. Makes nothing durable; errors surface in Sync(). Default:
  // nothing.
  virtual void StartWriteback() {}
  [[nodiscard]] virtual Status Close() = 0;
  // Bytes in the file, including unsynced ones.
  virtual uint64_t Size() const = 0;
};

// A file read at arbitrary offsets. Thread-compatible: concurrent Read calls are allowed.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset into *out (replacing its contents); fewer at end of file.
  [[nodiscard]] virtual Status Read(uint64_t offset, size_t n, std::string* out) const = 0;
  // Current size of the file (it may grow while open).
  virtual Result<uint64_t> Size() const = 0;
};

// An exclusive advisory lock on a file (flock). Released when destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates or truncates `path` (mode 0600) and opens it for appending.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  // Opens an existing (or new, mode 0600) file for appending after its current end.
  virtual Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;

  virtual bool FileExists(const std::string& path) = 0;
  virtual Result<uint64_t> GetFileSize(const std::string& path) = 0;
  // Names (not paths) of the entries of `dir`, without "." and "..", in no particular order.
  virtual Result<std::vector<std::string>> GetChildren(const std::string& dir) = 0;
  [[nodiscard]] virtual Status DeleteFile(const std::string& path) = 0;
  // Atomically replaces `to` with `from` (rename(2)); durable after SyncDir of the parent.
  [[nodiscard]] virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Creates `dir` (mode 0700) and missing parents; OK when it exists.
  [[nodiscard]] virtual Status CreateDirs(const std::string& dir) = 0;
  [[nodiscard]] virtual Status DeleteDir(const std::string& dir) = 0;
  // Makes the directory's entries (creations, deletions, renames) durable.
  [[nodiscard]] virtual Status SyncDir(const std::string& dir) = 0;
  // Cuts `path` to `size` bytes (used to remove a torn tail) and syncs it.
  [[nodiscard]] virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  // Takes an exclusive lock on `path` (created if missing) without waiting: Busy if held by
  // another process or another lock object.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
};

// The real filesystem (POSIX). One instance per process is enough; it holds no global state.
std::unique_ptr<FileSystem> NewPosixFileSystem();

// Convenience helpers on top of any FileSystem.
Result<std::string> ReadFileToString(FileSystem* fs, const std::string& path);
// Writes `data` to `path` atomically and durably: temp file, sync, rename, sync directory.
[[nodiscard]] Status WriteFileAtomically(FileSystem* fs, const std::string& path,
                                         std::string_view data);
// "a/b" + "c" -> "a/b/c"; DirName("a/b/c") -> "a/b".
std::string JoinPath(std::string_view dir, std::string_view name);
std::string DirName(std::string_view path);

}  // namespace owsync

#endif  // OWSYNC_UTIL_FILE_SYSTEM_H_
