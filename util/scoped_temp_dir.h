// ScopedTempDir: a fresh private directory (mkdtemp under $TMPDIR, else /tmp) for tests and
// tools, removed with everything in it when the object is destroyed. Move-only.
#ifndef OWSYNC_UTIL_SCOPED_TEMP_DIR_H_
#define OWSYNC_UTIL_SCOPED_TEMP_DIR_H_

#include <string>
#include <string_view>

#include "util/result.h"

namespace owsync {

class ScopedTempDir {
 public:
  // Creates "<tmp>/<prefix>XXXXXX" with mode 0700.
  static Result<ScopedTempDir> Create(std::string_view prefix = "owsync-");

  ScopedTempDir(ScopedTempDir&& other) noexcept;
  ScopedTempDir& operator=(ScopedTempDir&& other) noexcept;
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  ~ScopedTempDir();

  const std::string& path() const { return path_; }
  // `path()/name`.
  std::string Child(std::string_view name) const;

 private:
  explicit ScopedTempDir(std::string path) : path_(std::move(path)) {}
  void Remove();

  std::string path_;  // empty once moved from
};

}  // namespace owsync

#endif  // OWSYNC_UTIL_SCOPED_TEMP_DIR_H_
