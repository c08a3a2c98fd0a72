// ShipChaosFlags: the size of the shipper crash tests (tests/ship_crash_pg_test.cc). Their
// main() is the PostgreSQL harness's (tests/testing_main.cc), so the flags are read from the
// environment (OWSYNC_KILLS, OWSYNC_PG_RESTARTS, OWSYNC_CHAOS_SEED) and then from this
// process's own command line (/proc/self/cmdline: `--kills N`, `--pg-restarts N`,
// `--seed S`; gtest's --gtest_* flags are skipped); the command line wins. Defaults keep CI
// short: 4 kills, 1 PostgreSQL restart, seed 1.
#ifndef OWSYNC_TESTS_SHIP_CHAOS_FLAGS_H_
#define OWSYNC_TESTS_SHIP_CHAOS_FLAGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "util/file_system.h"
#include "util/result.h"

namespace owsync::tests {

struct ShipChaosFlags {
  int kills = 4;
  int pg_restarts = 1;
  uint64_t seed = 1;

  // InvalidArgument naming the first unknown argument or bad number.
  static Result<ShipChaosFlags> Parse(const std::vector<std::string>& args,
                                      const ShipChaosFlags& defaults);
  // Environment, then /proc/self/cmdline (read through `fs`).
  static Result<ShipChaosFlags> FromProcess(FileSystem* fs);
  std::string ToString() const;  // "--kills 4 --pg-restarts 1 --seed 1"
};

}  // namespace owsync::tests

#endif  // OWSYNC_TESTS_SHIP_CHAOS_FLAGS_H_
