#include "cli/private_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>
#include <vector>

namespace owsync::cli {
namespace {

// Every directory above `path` must be searchable by `user`.
Status CheckReachable(const std::string& path, const UserIdentity& user) {
  std::string dir = DirName(path);
  while (!dir.empty() && dir != "/" && dir != ".") {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return ErrnoStatus("stat " + dir, errno);
    const bool ok = (st.st_mode & S_IXOTH) || (st.st_uid == user.uid && (st.st_mode & S_IXUSR)) ||
                    (st.st_gid == user.gid && (st.st_mode & S_IXGRP));
    if (!ok) {
      return Status::FailedPrecondition(
          "the '" + user.name + "' account cannot enter " + dir +
          " (local servers run as that account when owsync runs as root); point TMPDIR at a "
          "directory it can reach, e.g. TMPDIR=/tmp");
    }
    dir = DirName(dir);
  }
  return Status::OK();
}

}  // namespace

Status RemoveTree(FileSystem* fs, const std::string& path) {
  Status s = fs->DeleteFile(path);
  if (s.ok() || s.IsNotFound()) return Status::OK();
  auto children = fs->GetChildren(path);
  if (!children.ok()) return children.status().IsNotFound() ? Status::OK() : s;
  Status first;
  for (const std::string& name : *children) {
    Status c = RemoveTree(fs, JoinPath(path, name));
    if (first.ok() && !c.ok()) first = c;
  }
  Status d = fs->DeleteDir(path);
  if (first.ok() && !d.ok() && !d.IsNotFound()) first = d;
  return first;
}

Result<PrivateDir> PrivateDir::Create(FileSystem* fs, std::string_view prefix,
                                      const std::optional<UserIdentity>& owner) {
  const char* env = std::getenv("TMPDIR");
  const std::string base = (env != nullptr && env[0] != '\0') ? env : "/tmp";
  std::string templ = JoinPath(base, std::string(prefix) + "XXXXXX");
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) return ErrnoStatus("mkdtemp " + templ, errno);
  PrivateDir dir(fs, std::string(buf.data()));
  if (owner.has_value()) {
    OWSYNC_RETURN_IF_ERROR(CheckReachable(dir.path_, *owner));
    if (::chown(dir.path_.c_str(), owner->uid, owner->gid) != 0) {
      return ErrnoStatus("chown " + dir.path_, errno);
    }
  }
  return dir;
}

PrivateDir::PrivateDir(PrivateDir&& other) noexcept
    : fs_(other.fs_), path_(std::exchange(other.path_, "")), keep_(other.keep_) {}

PrivateDir& PrivateDir::operator=(PrivateDir&& other) noexcept {
  if (this != &other) {
    if (!keep_) {
      auto ignored = Remove();
      (void)ignored;
    }
    fs_ = other.fs_;
    path_ = std::exchange(other.path_, "");
    keep_ = other.keep_;
  }
  return *this;
}

PrivateDir::~PrivateDir() {
  if (!keep_) {
    auto ignored = Remove();
    (void)ignored;
  }
}

Status PrivateDir::Remove() {
  if (path_.empty()) return Status::OK();
  Status s = RemoveTree(fs_, path_);
  path_.clear();
  return s;
}

}  // namespace owsync::cli
