#include "tests/failover_flags.h"

#include "tests/process_args.h"

namespace owsync::tests {
Result<FailoverFlags> FailoverFlags::Parse(const std::vector<std::string>& args,
                                           const FailoverFlags& defaults) {
  FailoverFlags f = defaults;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--gtest_", 0) == 0) continue;
    uint64_t v = 0;
    if ((arg == "--rounds" || arg == "--seed") && i + 1 < args.size() &&
        ParseDecimal(args[i + 1], &v)) {
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
  if (ParseDecimal(EnvOrEmpty("OWSYNC_FAILOVER_ROUNDS"), &v) && v >= 1 && v <= 10000) {
    f.rounds = static_cast<int>(v);
  }
  if (ParseDecimal(EnvOrEmpty("OWSYNC_CHAOS_SEED"), &v)) f.seed = v;
  OWSYNC_ASSIGN_OR_RETURN(std::vector<std::string> args, ProcessArgs(fs));
  return Parse(args, f);
}

std::string FailoverFlags::ToString() const {
  return "--rounds " + std::to_string(rounds) + " --seed " + std::to_string(seed);
}

}  // namespace owsync::tests
