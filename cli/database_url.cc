#include "cli/database_url.h"

#include "shipper/pg_url.h"

namespace owsync::cli {
namespace {

Result<std::string> ReadUrlFile(CliContext* ctx, const std::string& path, const std::string& what) {
  auto text = ReadFileToString(ctx->fs, path);
  if (!text.ok()) return text.status().WithContext("reading " + what);
  std::string s = std::move(*text);
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  if (s.empty()) return Status::InvalidArgument(what + " " + path + " is empty");
  return s;
}

}  // namespace

Result<std::string> ResolveDatabaseUrl(const DatabaseUrlSource& src, CliContext* ctx) {
  if (!src.value.empty() && !src.file.empty()) {
    return Status::InvalidArgument("give either " + src.option + " or " + src.file_option +
                                   ", not both");
  }
  std::string url;
  if (!src.value.empty()) {
    auto parsed = shipper::PgUrl::Parse(src.value);
    if (!parsed.ok()) return parsed.status().WithContext(src.option);
    if (parsed->has_password()) {
      return Status::InvalidArgument(
          "the URL given with " + src.option +
          " contains a password, and command-line arguments are visible to every local user "
          "(ps, /proc). Put the URL in a file readable only by you and pass " +
          src.file_option + " PATH (or set " + src.env + "_FILE=PATH), or set " + src.env +
          " in the environment");
    }
    url = src.value;
  } else if (!src.file.empty()) {
    OWSYNC_ASSIGN_OR_RETURN(url, ReadUrlFile(ctx, src.file, src.file_option));
  } else if (auto env = ctx->getenv(src.env); env.has_value() && !env->empty()) {
    url = *env;
  } else if (auto env_file = ctx->getenv(src.env + "_FILE");
             env_file.has_value() && !env_file->empty()) {
    OWSYNC_ASSIGN_OR_RETURN(url, ReadUrlFile(ctx, *env_file, src.env + "_FILE"));
  } else {
    return Status::InvalidArgument("no database URL: pass " + src.option + " URL (without a " +
                                   "password) or " + src.file_option + " PATH, or set " + src.env +
                                   " or " + src.env + "_FILE");
  }
  auto parsed = shipper::PgUrl::Parse(url);
  if (!parsed.ok()) return parsed.status();
  return url;
}

}  // namespace owsync::cli
