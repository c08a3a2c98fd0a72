#include "tests/failover_flags.h"

#include <cstdlib>

namespace owsync::tests {
namespace {

bool ParseNumber(const std::string& text, uint64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

Result<FailoverFlags> FailoverFlags::Parse(const std::vector<std::string>& args,
                                           const FailoverFlags& defaults) {
  FailoverFlags f = defaults;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--gtest_", 0) == 0) continue;
    uint64_t v = 0;
    if ((arg == "--rounds" || arg == "--seed") && i + 1 < args.size() &&
        ParseNumber(args[i + 1], &v)) {
      if (arg == "--seed") {
        f.seed = v;
      } else if (v < 1 || v > 10000) {
        return Status::InvalidArgument("--rounds " + args[i + 1] + ": must be 1..10000");
      } else {
        f.rounds = static_cast<int>(v);
      }
      ++i;
      continue;
    }
    return Status::InvalidArgument("bad failover test flag '" + arg +
                                   "'; usage: [--rounds N] [--seed S]");
  }
  return f;
}

Result<FailoverFlags> FailoverFlags::FromProcess(FileSystem* fs) {
  FailoverFlags f;
  uint64_t v = 0;
  auto env = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string(value == nullptr ? "" : value);
  };
  if (ParseNumber(env("OWSYNC_FAILOVER_ROUNDS"), &v) && v >= 1 && v <= 10000) {
    f.rounds = static_cast<int>(v);
  }
  if (ParseNumber(env("OWSYNC_CHAOS_SEED"), &v)) f.seed = v;
  OWSYNC_ASSIGN_OR_RETURN(std::string cmdline, ReadFileToString(fs, "/proc/self/cmdline"));
  std::vector<std::string> args;
  size_t start = 0;
  for (size_t i = 0; i < cmdline.size(); ++i) {
    if (cmdline[i] != '\0') continue;
    args.push_back(cmdline.substr(start, i - start));
    start = i + 1;
  }
  if (!args.empty()) args.erase(args.begin());  // the program
  return Parse(args, f);
}

std::string FailoverFlags::ToString() const {
  return "--rounds " + std::to_string(rounds) + " --seed " + std::to_string(seed);
}

}  // namespace owsync::tests
