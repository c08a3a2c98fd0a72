#include "tests/ship_chaos_flags.h"

#include "tests/process_args.h"

namespace owsync::tests {
Result<ShipChaosFlags> ShipChaosFlags::Parse(const std::vector<std::string>& args,
                                             const ShipChaosFlags& defaults) {
  ShipChaosFlags f = defaults;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--gtest_", 0) == 0) continue;
    uint64_t v = 0;
    if ((arg == "--kills" || arg == "--pg-restarts" || arg == "--seed") && i + 1 < args.size() &&
        ParseDecimal(args[i + 1], &v)) {
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
  if (ParseDecimal(EnvOrEmpty("OWSYNC_KILLS"), &v)) f.kills = static_cast<int>(v);
  if (ParseDecimal(EnvOrEmpty("OWSYNC_PG_RESTARTS"), &v)) f.pg_restarts = static_cast<int>(v);
  if (ParseDecimal(EnvOrEmpty("OWSYNC_CHAOS_SEED"), &v)) f.seed = v;
  OWSYNC_ASSIGN_OR_RETURN(std::vector<std::string> args, ProcessArgs(fs));
  return Parse(args, f);
}

std::string ShipChaosFlags::ToString() const {
  return "--kills " + std::to_string(kills) + " --pg-restarts " + std::to_string(pg_restarts) +
         " --seed " + std::to_string(seed);
}

}  // namespace owsync::tests
