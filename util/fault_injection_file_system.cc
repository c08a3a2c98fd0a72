#include "util/fault_injection_file_system.h"

#include <map>
#include <mutex>
#include <optional>
#include <set>

namespace owsync {

// All tracking and fault state, under one mutex. Files are modeled as inodes: `live_` maps the
// current names to inodes, `durable_` the names a crash would leave. An inode's durable
// contents are the first `synced` bytes of whatever live name it has, or `backup` once no live
// name is left (taken when its last live name is deleted or renamed over).
class FaultInjectionFileSystem::Impl {
 public:
  explicit Impl(FileSystem* base) : base_(base) {}

  struct Inode {
    uint64_t synced = 0;
    std::optional<std::string> backup;
  };

  FileSystem* const base_;
  mutable std::mutex mu_;
  std::map<uint64_t, Inode> inodes_;
  std::map<std::string, uint64_t> live_;
  std::map<std::string, uint64_t> durable_;
  uint64_t next_inode_ = 1;
  uint64_t generation_ = 0;  // bumped by every simulated crash

  std::optional<int64_t> fail_write_after_;
  int64_t appends_since_armed_ = 0;
  std::optional<int64_t> fail_sync_after_;
  int64_t syncs_since_armed_ = 0;
  std::optional<size_t> tear_keep_;
  std::optional<uint64_t> free_bytes_;
  int64_t sync_count_ = 0;
  int64_t sync_dir_count_ = 0;

  // Starts tracking a file that existed before we saw it: fully durable under its name.
  void TrackExistingLocked(const std::string& path) {
    if (live_.count(path) > 0) return;
    auto size = base_->GetFileSize(path);
    if (!size.ok()) return;
    const uint64_t id = next_inode_++;
    inodes_[id].synced = *size;
    live_[path] = id;
    if (durable_.count(path) == 0) durable_[path] = id;
  }

  bool IsDurableLocked(uint64_t id) const {
    for (const auto& [p, i] : durable_) {
      if (i == id) return true;
    }
    return false;
  }

  // Called before `path` stops naming its inode: keeps what a crash would bring back.
  void BackupBeforeUnlinkLocked(const std::string& path) {
    auto it = live_.find(path);
    if (it == live_.end()) return;
    Inode& inode = inodes_[it->second];
    if (!IsDurableLocked(it->second) || inode.backup) return;
    auto contents = ReadFileToString(base_, path);
    std::string data = contents.ok() ? std::move(*contents) : std::string();
    if (data.size() > inode.synced) data.resize(inode.synced);
    inode.backup = std::move(data);
  }

  void GiveBackLocked(uint64_t bytes) {
    if (free_bytes_) *free_bytes_ += bytes;
  }

  void ForgetUnreferencedLocked() {
    std::set<uint64_t> used;
    for (const auto& [p, id] : live_) used.insert(id);
    for (const auto& [p, id] : durable_) used.insert(id);
    for (auto it = inodes_.begin(); it != inodes_.end();) {
      it = used.count(it->first) ? std::next(it) : inodes_.erase(it);
    }
  }

  Status DropUnsyncedData();
};

namespace {

using Impl = FaultInjectionFileSystem::Impl;

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(std::shared_ptr<Impl> impl, std::unique_ptr<WritableFile> base, uint64_t inode,
                    uint64_t generation, std::string path)
      : impl_(std::move(impl)),
        base_(std::move(base)),
        inode_(inode),
        generation_(generation),
        path_(std::move(path)) {}

  Status Append(std::string_view data) override {
    std::lock_guard<std::mutex> lock(impl_->mu_);
    OWSYNC_RETURN_IF_ERROR(CheckAliveLocked());
    if (impl_->fail_write_after_ && impl_->appends_since_armed_++ >= *impl_->fail_write_after_) {
      return Status::IOError("injected write failure: " + path_);
    }
    if (impl_->free_bytes_ && data.size() > *impl_->free_bytes_) {
      return Status::NoSpace("injected disk full: " + path_);
    }
    if (impl_->tear_keep_) {
      const size_t keep = std::min(*impl_->tear_keep_, data.size());
      impl_->tear_keep_.reset();
      crashed_ = true;
      if (impl_->free_bytes_) *impl_->free_bytes_ -= keep;
      OWSYNC_RETURN_IF_ERROR(base_->Append(data.substr(0, keep)));
      return Status::IOError("injected torn write (" + std::to_string(keep) + " of " +
                             std::to_string(data.size()) + " bytes): " + path_);
    }
    OWSYNC_RETURN_IF_ERROR(base_->Append(data));
    if (impl_->free_bytes_) *impl_->free_bytes_ -= data.size();
    return Status::OK();
  }

  Status Sync() override {
    std::lock_guard<std::mutex> lock(impl_->mu_);
    OWSYNC_RETURN_IF_ERROR(CheckAliveLocked());
    if (impl_->fail_sync_after_ && impl_->syncs_since_armed_++ >= *impl_->fail_sync_after_) {
      return Status::IOError("injected sync failure: " + path_);
    }
    OWSYNC_RETURN_IF_ERROR(base_->Sync());
    ++impl_->sync_count_;
    auto it = impl_->inodes_.find(inode_);
    if (it != impl_->inodes_.end()) it->second.synced = base_->Size();
    return Status::OK();
  }

  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }

 private:
  Status CheckAliveLocked() const {
    if (generation_ != impl_->generation_) {
      return Status::IOError("file opened before a simulated power loss: " + path_);
    }
    if (crashed_) return Status::IOError("file crashed by a torn write: " + path_);
    return Status::OK();
  }

  std::shared_ptr<Impl> impl_;
  std::unique_ptr<WritableFile> base_;
  const uint64_t inode_;
  const uint64_t generation_;
  const std::string path_;
  bool crashed_ = false;
};

}  // namespace

Status Impl::DropUnsyncedData() {
  std::lock_guard<std::mutex> lock(mu_);
  // 1. What each durable name will hold: read everything before changing anything.
  std::map<std::string, std::string> rewrite;    // durable name -> contents to write afresh
  std::map<std::string, uint64_t> cut_in_place;  // same inode still under that name
  for (const auto& [path, id] : durable_) {
    Inode& inode = inodes_[id];
    auto live = live_.find(path);
    if (!inode.backup && live != live_.end() && live->second == id) {
      cut_in_place[path] = inode.synced;
      continue;
    }
    std::string data;
    if (inode.backup) {
      data = *inode.backup;
    } else {
      for (const auto& [lpath, lid] : live_) {
        if (lid != id) continue;
        OWSYNC_ASSIGN_OR_RETURN(data, ReadFileToString(base_, lpath));
        break;
      }
    }
    if (data.size() > inode.synced) data.resize(inode.synced);
    rewrite[path] = std::move(data);
  }
  // 2. Remove every live name that is not kept in place, then restore and cut.
  uint64_t before = 0;
  uint64_t after = 0;
  for (const auto& [path, id] : live_) {
    auto size = base_->GetFileSize(path);
    if (size.ok()) before += *size;
    if (cut_in_place.count(path) == 0) OWSYNC_RETURN_IF_ERROR(base_->DeleteFile(path));
  }
  for (const auto& [path, size] : cut_in_place) {
    auto current = base_->GetFileSize(path);
    if (current.ok() && *current > size) OWSYNC_RETURN_IF_ERROR(base_->Truncate(path, size));
    after += std::min(size, current.ok() ? *current : size);
  }
  for (const auto& [path, data] : rewrite) {
    OWSYNC_ASSIGN_OR_RETURN(auto file, base_->NewWritableFile(path));
    OWSYNC_RETURN_IF_ERROR(file->Append(data));
    OWSYNC_RETURN_IF_ERROR(file->Sync());
    OWSYNC_RETURN_IF_ERROR(file->Close());
    after += data.size();
  }
  // 3. The survivors are now the whole, fully durable state.
  live_ = durable_;
  for (const auto& [path, id] : durable_) {
    Inode& inode = inodes_[id];
    inode.backup.reset();
    auto size = base_->GetFileSize(path);
    inode.synced = size.ok() ? *size : 0;
  }
  ForgetUnreferencedLocked();
  if (before > after) GiveBackLocked(before - after);
  ++generation_;
  return Status::OK();
}

FaultInjectionFileSystem::FaultInjectionFileSystem(FileSystem* base)
    : impl_(std::make_shared<Impl>(base)) {}
FaultInjectionFileSystem::~FaultInjectionFileSystem() = default;

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewWritableFile(
    const std::string& path) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->TrackExistingLocked(path);
  const uint64_t old_size = impl_->base_->GetFileSize(path).value_or(0);
  OWSYNC_ASSIGN_OR_RETURN(auto file, impl_->base_->NewWritableFile(path));
  impl_->GiveBackLocked(old_size);
  auto it = impl_->live_.find(path);
  uint64_t id;
  if (it != impl_->live_.end()) {
    id = it->second;
    // Truncating an existing file: a crash may leave it empty, so nothing of it is durable.
    impl_->inodes_[id].synced = 0;
  } else {
    id = impl_->next_inode_++;
    impl_->inodes_[id] = Impl::Inode{};
    impl_->live_[path] = id;
  }
  return std::unique_ptr<WritableFile>(
      std::make_unique<FaultWritableFile>(impl_, std::move(file), id, impl_->generation_, path));
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewAppendableFile(
    const std::string& path) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->TrackExistingLocked(path);
  OWSYNC_ASSIGN_OR_RETURN(auto file, impl_->base_->NewAppendableFile(path));
  auto it = impl_->live_.find(path);
  uint64_t id;
  if (it != impl_->live_.end()) {
    id = it->second;
  } else {
    id = impl_->next_inode_++;
    impl_->inodes_[id] = Impl::Inode{};
    impl_->live_[path] = id;
  }
  return std::unique_ptr<WritableFile>(
      std::make_unique<FaultWritableFile>(impl_, std::move(file), id, impl_->generation_, path));
}

Result<std::unique_ptr<RandomAccessFile>> FaultInjectionFileSystem::NewRandomAccessFile(
    const std::string& path) {
  return impl_->base_->NewRandomAccessFile(path);
}

bool FaultInjectionFileSystem::FileExists(const std::string& path) {
  return impl_->base_->FileExists(path);
}

Result<uint64_t> FaultInjectionFileSystem::GetFileSize(const std::string& path) {
  return impl_->base_->GetFileSize(path);
}

Result<std::vector<std::string>> FaultInjectionFileSystem::GetChildren(const std::string& dir) {
  return impl_->base_->GetChildren(dir);
}

Status FaultInjectionFileSystem::DeleteFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->TrackExistingLocked(path);
  const uint64_t size = impl_->base_->GetFileSize(path).value_or(0);
  impl_->BackupBeforeUnlinkLocked(path);
  OWSYNC_RETURN_IF_ERROR(impl_->base_->DeleteFile(path));
  impl_->live_.erase(path);
  impl_->GiveBackLocked(size);
  return Status::OK();
}

Status FaultInjectionFileSystem::RenameFile(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->TrackExistingLocked(from);
  impl_->TrackExistingLocked(to);
  const bool replaces = from != to && impl_->live_.count(to) > 0;
  const uint64_t replaced_size = replaces ? impl_->base_->GetFileSize(to).value_or(0) : 0;
  if (replaces) impl_->BackupBeforeUnlinkLocked(to);
  OWSYNC_RETURN_IF_ERROR(impl_->base_->RenameFile(from, to));
  auto it = impl_->live_.find(from);
  if (it != impl_->live_.end() && from != to) {
    const uint64_t id = it->second;
    impl_->live_.erase(it);
    impl_->live_[to] = id;
  }
  impl_->GiveBackLocked(replaced_size);
  return Status::OK();
}

Status FaultInjectionFileSystem::CreateDirs(const std::string& dir) {
  return impl_->base_->CreateDirs(dir);
}

Status FaultInjectionFileSystem::DeleteDir(const std::string& dir) {
  return impl_->base_->DeleteDir(dir);
}

Status FaultInjectionFileSystem::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  OWSYNC_RETURN_IF_ERROR(impl_->base_->SyncDir(dir));
  ++impl_->sync_dir_count_;
  // The directory's durable entries become exactly its live ones.
  for (auto it = impl_->durable_.begin(); it != impl_->durable_.end();) {
    it = DirName(it->first) == dir ? impl_->durable_.erase(it) : std::next(it);
  }
  for (const auto& [path, id] : impl_->live_) {
    if (DirName(path) == dir) impl_->durable_[path] = id;
  }
  impl_->ForgetUnreferencedLocked();
  for (auto& [id, inode] : impl_->inodes_) {
    if (inode.backup && !impl_->IsDurableLocked(id)) inode.backup.reset();
  }
  return Status::OK();
}

Status FaultInjectionFileSystem::Truncate(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->TrackExistingLocked(path);
  const uint64_t old_size = impl_->base_->GetFileSize(path).value_or(0);
  OWSYNC_RETURN_IF_ERROR(impl_->base_->Truncate(path, size));
  auto it = impl_->live_.find(path);
  if (it != impl_->live_.end()) impl_->inodes_[it->second].synced = size;  // Truncate syncs
  if (old_size > size) impl_->GiveBackLocked(old_size - size);
  return Status::OK();
}

Result<std::unique_ptr<FileLock>> FaultInjectionFileSystem::LockFile(const std::string& path) {
  return impl_->base_->LockFile(path);
}

Status FaultInjectionFileSystem::DropUnsyncedData() { return impl_->DropUnsyncedData(); }

void FaultInjectionFileSystem::FailWriteAfter(int64_t n) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->fail_write_after_ = n;
  impl_->appends_since_armed_ = 0;
}

void FaultInjectionFileSystem::FailSyncAfter(int64_t n) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->fail_sync_after_ = n;
  impl_->syncs_since_armed_ = 0;
}

void FaultInjectionFileSystem::TearNextWrite(size_t keep_bytes) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->tear_keep_ = keep_bytes;
}

void FaultInjectionFileSystem::SetFreeBytes(uint64_t n) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->free_bytes_ = n;
}

void FaultInjectionFileSystem::ClearFaults() {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->fail_write_after_.reset();
  impl_->fail_sync_after_.reset();
  impl_->tear_keep_.reset();
  impl_->free_bytes_.reset();
}

int64_t FaultInjectionFileSystem::SyncCount() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->sync_count_;
}

int64_t FaultInjectionFileSystem::SyncDirCount() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->sync_dir_count_;
}

}  // namespace owsync
