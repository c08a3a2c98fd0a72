// FailoverFlags: the size of the HA failover tests (tests/failover_pg_test.cc). Their main()
// is the PostgreSQL harness's (tests/testing_main.cc), so the flags come from the environment
// (OWSYNC_FAILOVER_ROUNDS, OWSYNC_CHAOS_SEED) and then from this process's own command line
// (/proc/self/cmdline: `--rounds N`, `--seed S`; gtest's --gtest_* flags are skipped); the
// command line wins. Defaults keep CI short: 1 round per scenario, seed 1.
#ifndef OWSYNC_TESTS_FAILOVER_FLAGS_H_
#define OWSYNC_TESTS_FAILOVER_FLAGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "util/file_system.h"
#include "util/result.h"

namespace owsync::tests {

struct FailoverFlags {
  int rounds = 1;
  uint64_t seed = 1;

  // InvalidArgument naming the first unknown argument or bad number.
  static Result<FailoverFlags> Parse(const std::vector<std::string>& args,
                                     const FailoverFlags& defaults);
  // Environment, then /proc/self/cmdline (read through `fs`).
  static Result<FailoverFlags> FromProcess(FileSystem* fs);
  std::string ToString() const;  // "--rounds 1 --seed 1"
};

}  // namespace owsync::tests

#endif  // OWSYNC_TESTS_FAILOVER_FLAGS_H_
