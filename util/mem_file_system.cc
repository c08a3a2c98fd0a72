#include "util/mem_file_system.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

namespace owsync {
namespace {

// One file's bytes ("inode"); shared by the path table and every open handle.
struct Node {
  std::string data;
};

std::string Normalize(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

}  // namespace

struct MemFileSystem::State {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<Node>> files;
  std::set<std::string> dirs{"/", "."};
  std::set<std::string> locked;

  bool DirExistsLocked(const std::string& dir) const { return dirs.count(dir) > 0; }
  Status CheckParentLocked(const std::string& path) const {
    if (dirs.count(path) > 0) return Status::IOError(path + ": is a directory");
    const std::string parent = DirName(path);
    if (!DirExistsLocked(parent)) {
      if (files.count(parent) > 0) return Status::IOError(path + ": parent is not a directory");
      return Status::NotFound(path + ": no such directory " + parent);
    }
    return Status::OK();
  }
};

namespace {

using State = MemFileSystem::State;

class MemWritableFile final : public WritableFile {
 public:
  MemWritableFile(std::shared_ptr<State> state, std::shared_ptr<Node> node, std::string path)
      : state_(std::move(state)), node_(std::move(node)), path_(std::move(path)) {}

  Status Append(std::string_view data) override {
    if (closed_) return Status::FailedPrecondition("append to closed file " + path_);
    std::lock_guard<std::mutex> lock(state_->mu);
    node_->data.append(data);
    return Status::OK();
  }
  Status Sync() override {
    if (closed_) return Status::FailedPrecondition("sync of closed file " + path_);
    return Status::OK();
  }
  Status Close() override {
    closed_ = true;
    return Status::OK();
  }
  uint64_t Size() const override {
    std::lock_guard<std::mutex> lock(state_->mu);
    return node_->data.size();
  }

 private:
  std::shared_ptr<State> state_;
  std::shared_ptr<Node> node_;
  const std::string path_;
  bool closed_ = false;
};

class MemRandomAccessFile final : public RandomAccessFile {
 public:
  MemRandomAccessFile(std::shared_ptr<State> state, std::shared_ptr<Node> node)
      : state_(std::move(state)), node_(std::move(node)) {}

  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    std::lock_guard<std::mutex> lock(state_->mu);
    const std::string& d = node_->data;
    if (offset >= d.size()) {
      out->clear();
    } else {
      out->assign(d, static_cast<size_t>(offset), n);
    }
    return Status::OK();
  }
  Result<uint64_t> Size() const override {
    std::lock_guard<std::mutex> lock(state_->mu);
    return static_cast<uint64_t>(node_->data.size());
  }

 private:
  std::shared_ptr<State> state_;
  std::shared_ptr<Node> node_;
};

class MemFileLock final : public FileLock {
 public:
  MemFileLock(std::shared_ptr<State> state, std::string path)
      : state_(std::move(state)), path_(std::move(path)) {}
  ~MemFileLock() override {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->locked.erase(path_);
  }

 private:
  std::shared_ptr<State> state_;
  const std::string path_;
};

}  // namespace

MemFileSystem::MemFileSystem() : state_(std::make_shared<State>()) {}
MemFileSystem::~MemFileSystem() = default;

Result<std::unique_ptr<WritableFile>> MemFileSystem::Open(const std::string& raw, bool truncate) {
  const std::string path = Normalize(raw);
  std::lock_guard<std::mutex> lock(state_->mu);
  OWSYNC_RETURN_IF_ERROR(state_->CheckParentLocked(path));
  auto& node = state_->files[path];
  if (!node) node = std::make_shared<Node>();
  if (truncate) node->data.clear();
  return std::unique_ptr<WritableFile>(std::make_unique<MemWritableFile>(state_, node, path));
}

Result<std::unique_ptr<WritableFile>> MemFileSystem::NewWritableFile(const std::string& path) {
  return Open(path, /*truncate=*/true);
}

Result<std::unique_ptr<WritableFile>> MemFileSystem::NewAppendableFile(const std::string& path) {
  return Open(path, /*truncate=*/false);
}

Result<std::unique_ptr<RandomAccessFile>> MemFileSystem::NewRandomAccessFile(
    const std::string& raw) {
  const std::string path = Normalize(raw);
  std::lock_guard<std::mutex> lock(state_->mu);
  auto it = state_->files.find(path);
  if (it == state_->files.end()) return Status::NotFound(path + ": no such file");
  return std::unique_ptr<RandomAccessFile>(
      std::make_unique<MemRandomAccessFile>(state_, it->second));
}

bool MemFileSystem::FileExists(const std::string& raw) {
  const std::string path = Normalize(raw);
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->files.count(path) > 0 || state_->dirs.count(path) > 0;
}

Result<uint64_t> MemFileSystem::GetFileSize(const std::string& raw) {
  const std::string path = Normalize(raw);
  std::lock_guard<std::mutex> lock(state_->mu);
  auto it = state_->files.find(path);
  if (it == state_->files.end()) return Status::NotFound(path + ": no such file");
  return static_cast<uint64_t>(it->second->data.size());
}

Result<std::vector<std::string>> MemFileSystem::GetChildren(const std::string& raw) {
  const std::string dir = Normalize(raw);
  std::lock_guard<std::mutex> lock(state_->mu);
  if (!state_->DirExistsLocked(dir)) return Status::NotFound(dir + ": no such directory");
  std::vector<std::string> names;
  auto add_if_child = [&](const std::string& p) {
    if (p != dir && DirName(p) == dir) {
      const size_t slash = p.rfind('/');
      names.push_back(slash == std::string::npos ? p : p.substr(slash + 1));
    }
  };
  for (const auto& [p, node] : state_->files) add_if_child(p);
  for (const auto& p : state_->dirs) add_if_child(p);
  return names;
}

Status MemFileSystem::DeleteFile(const std::string& raw) {
  const std::string path = Normalize(raw);
  std::lock_guard<std::mutex> lock(state_->mu);
  if (state_->dirs.count(path) > 0) return Status::IOError(path + ": is a directory");
  if (state_->files.erase(path) == 0) return Status::NotFound(path + ": no such file");
  return Status::OK();
}

Status MemFileSystem::RenameFile(const std::string& raw_from, const std::string& raw_to) {
  const std::string from = Normalize(raw_from);
  const std::string to = Normalize(raw_to);
  std::lock_guard<std::mutex> lock(state_->mu);
  if (state_->dirs.count(from) > 0) {
    return Status::NotSupported("MemFileSystem renames files only: " + from);
  }
  auto it = state_->files.find(from);
  if (it == state_->files.end()) return Status::NotFound(from + ": no such file");
  OWSYNC_RETURN_IF_ERROR(state_->CheckParentLocked(to));
  if (from == to) return Status::OK();
  std::shared_ptr<Node> node = it->second;
  state_->files.erase(it);
  state_->files[to] = std::move(node);
  return Status::OK();
}

Status MemFileSystem::CreateDirs(const std::string& raw) {
  const std::string dir = Normalize(raw);
  if (dir.empty()) return Status::InvalidArgument("CreateDirs of an empty path");
  std::lock_guard<std::mutex> lock(state_->mu);
  // Collect the missing ancestors, outermost first.
  std::vector<std::string> missing;
  for (std::string d = dir; !state_->DirExistsLocked(d); d = DirName(d)) {
    if (state_->files.count(d) > 0) {
      return Status::AlreadyExists(d + " exists and is not a directory");
    }
    missing.push_back(d);
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) state_->dirs.insert(*it);
  return Status::OK();
}

Status MemFileSystem::DeleteDir(const std::string& raw) {
  const std::string dir = Normalize(raw);
  std::lock_guard<std::mutex> lock(state_->mu);
  if (dir == "/" || dir == ".") return Status::InvalidArgument("cannot delete " + dir);
  if (!state_->DirExistsLocked(dir)) return Status::NotFound(dir + ": no such directory");
  auto is_child = [&](const std::string& p) { return p != dir && DirName(p) == dir; };
  for (const auto& [p, node] : state_->files) {
    if (is_child(p)) return Status::IOError(dir + ": directory not empty");
  }
  for (const auto& p : state_->dirs) {
    if (is_child(p)) return Status::IOError(dir + ": directory not empty");
  }
  state_->dirs.erase(dir);
  return Status::OK();
}

Status MemFileSystem::SyncDir(const std::string& raw) {
  const std::string dir = Normalize(raw);
  std::lock_guard<std::mutex> lock(state_->mu);
  if (!state_->DirExistsLocked(dir)) return Status::NotFound(dir + ": no such directory");
  return Status::OK();
}

Status MemFileSystem::Truncate(const std::string& raw, uint64_t size) {
  const std::string path = Normalize(raw);
  std::lock_guard<std::mutex> lock(state_->mu);
  auto it = state_->files.find(path);
  if (it == state_->files.end()) return Status::NotFound(path + ": no such file");
  it->second->data.resize(static_cast<size_t>(size), '\0');
  return Status::OK();
}

Result<std::unique_ptr<FileLock>> MemFileSystem::LockFile(const std::string& raw) {
  const std::string path = Normalize(raw);
  std::lock_guard<std::mutex> lock(state_->mu);
  OWSYNC_RETURN_IF_ERROR(state_->CheckParentLocked(path));
  if (!state_->locked.insert(path).second) {
    return Status::Busy(path + " is locked by another owner");
  }
  auto& node = state_->files[path];
  if (!node) node = std::make_shared<Node>();
  return std::unique_ptr<FileLock>(std::make_unique<MemFileLock>(state_, path));
}

Result<std::string> MemFileSystem::Contents(const std::string& path) {
  return ReadFileToString(this, path);
}

std::vector<std::string> MemFileSystem::AllFiles() {
  std::lock_guard<std::mutex> lock(state_->mu);
  std::vector<std::string> out;
  for (const auto& [p, node] : state_->files) out.push_back(p);
  return out;
}

}  // namespace owsync
