#include "tests/ship_chaos_flags.h"

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

Result<ShipChaosFlags> ShipChaosFlags::Parse(const std::vector<std::string>& args,
                                             const ShipChaosFlags& defaults) {
  ShipChaosFlags f = defaults;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--gtest_", 0) == 0) continue;
    uint64_t v = 0;
    if ((arg == "--kills" || arg == "--pg-restarts" || arg == "--seed") && i + 1 < args.size() &&
        ParseNumber(args[i + 1], &v)) {
      if (arg == "--seed") {
        f.seed = v;
      } else if (v > 100000) {
        return Status::InvalidArgument(arg + " " + args[i + 1] + ": too many");
      } else {
        (arg == "--kills" ? f.kills : f.pg_restarts) = static_cast<int>(v);
      }
      ++i;
      continue;
    }
    return Status::InvalidArgument("bad shipper chaos flag '" + arg +
                                   "'; usage: [--kills N] [--pg-restarts N] [--seed S]");
  }
  return f;
}

Result<ShipChaosFlags> ShipChaosFlags::FromProcess(FileSystem* fs) {
  ShipChaosFlags f;
  uint64_t v = 0;
  auto env = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string(value == nullptr ? "" : value);
  };
  if (ParseNumber(env("OWSYNC_KILLS"), &v)) f.kills = static_cast<int>(v);
  if (ParseNumber(env("OWSYNC_PG_RESTARTS"), &v)) f.pg_restarts = static_cast<int>(v);
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

std::string ShipChaosFlags::ToString() const {
  return "--kills " + std::to_string(kills) + " --pg-restarts " + std::to_string(pg_restarts) +
         " --seed " + std::to_string(seed);
}

}  // namespace owsync::tests
