// PrivateDir: a fresh directory (mkdtemp, mode 0700) for a local server's data, sockets and
// logs, optionally handed to the account the server runs as. Removed with everything in it
// on destruction unless Keep() was called. Move-only.
#ifndef OWSYNC_CLI_PRIVATE_DIR_H_
#define OWSYNC_CLI_PRIVATE_DIR_H_

#include <optional>
#include <string>
#include <string_view>

#include "cli/child_process.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::cli {

class PrivateDir {
 public:
  // Creates "<$TMPDIR or /tmp>/<prefix>XXXXXX". With `owner`, chowns it to that account and
  // checks the account can reach it (FailedPrecondition naming the blocking directory if not).
  static Result<PrivateDir> Create(FileSystem* fs, std::string_view prefix,
                                   const std::optional<UserIdentity>& owner);

  PrivateDir(PrivateDir&& other) noexcept;
  PrivateDir& operator=(PrivateDir&& other) noexcept;
  PrivateDir(const PrivateDir&) = delete;
  PrivateDir& operator=(const PrivateDir&) = delete;
  ~PrivateDir();

  const std::string& path() const { return path_; }
  std::string Child(std::string_view name) const { return JoinPath(path_, name); }
  // Leaves the directory on disk when this object goes away.
  void Keep() { keep_ = true; }
  // Removes the directory tree now. Idempotent.
  [[nodiscard]] Status Remove();

 private:
  PrivateDir(FileSystem* fs, std::string path) : fs_(fs), path_(std::move(path)) {}
  FileSystem* fs_ = nullptr;
  std::string path_;  // empty once moved from or removed
  bool keep_ = false;
};

// Deletes `path` and everything below it through `fs` (entries that are not directories are
// deleted as files). NotFound is not an error.
[[nodiscard]] Status RemoveTree(FileSystem* fs, const std::string& path);

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_PRIVATE_DIR_H_
