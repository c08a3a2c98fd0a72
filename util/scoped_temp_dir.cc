#include "util/scoped_temp_dir.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include <cerrno>
#include <vector>

#include "util/file_system.h"

namespace owsync {
namespace {

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) {
  ::remove(path);  // best effort: a leftover must not turn a passing test into a crash
  return 0;
}

}  // namespace

Result<ScopedTempDir> ScopedTempDir::Create(std::string_view prefix) {
  const char* env = ::getenv("TMPDIR");
  const std::string base = (env != nullptr && env[0] != '\0') ? env : "/tmp";
  std::string templ = JoinPath(base, std::string(prefix) + "XXXXXX");
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) return ErrnoStatus("mkdtemp " + templ, errno);
  return ScopedTempDir(std::string(buf.data()));
}

ScopedTempDir::ScopedTempDir(ScopedTempDir&& other) noexcept : path_(std::move(other.path_)) {
  other.path_.clear();
}

ScopedTempDir& ScopedTempDir::operator=(ScopedTempDir&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

ScopedTempDir::~ScopedTempDir() { Remove(); }

std::string ScopedTempDir::Child(std::string_view name) const { return JoinPath(path_, name); }

void ScopedTempDir::Remove() {
  if (path_.empty()) return;
  ::nftw(path_.c_str(), &RemoveEntry, 16, FTW_DEPTH | FTW_PHYS);
  path_.clear();
}

}  // namespace owsync
