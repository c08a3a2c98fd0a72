#include "tests/process_args.h"

#include <cstdlib>

namespace owsync::tests {

bool ParseDecimal(const std::string& text, uint64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

std::string EnvOrEmpty(const char* name) {
  const char* value = std::getenv(name);
  return std::string(value == nullptr ? "" : value);
}

Result<std::vector<std::string>> ProcessArgs(FileSystem* fs) {
  OWSYNC_ASSIGN_OR_RETURN(std::string cmdline, ReadFileToString(fs, "/proc/self/cmdline"));
  std::vector<std::string> args;
  size_t start = 0;
  for (size_t i = 0; i < cmdline.size(); ++i) {
    if (cmdline[i] != '\0') continue;
    args.push_back(cmdline.substr(start, i - start));
    start = i + 1;
  }
  if (!args.empty()) args.erase(args.begin());  // the program
  return args;
}

}  // namespace owsync::tests
