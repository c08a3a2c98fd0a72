// Chaos test flags: how many kills (or other faults) per scenario and the base seed, from the
// command line (`--kills N`, `--seed S`, after InitGoogleTest removed its own flags) or the
// environment (OWSYNC_KILLS, OWSYNC_CHAOS_SEED). Defaults keep CI short: 4 kills, seed 1.
// Set once in main() before the tests run; read-only afterwards.
#ifndef OWSYNC_TESTS_CHAOS_FLAGS_H_
#define OWSYNC_TESTS_CHAOS_FLAGS_H_

#include <cstdint>

namespace owsync::testing {

// Reads the environment, then argv (argv wins). Unknown arguments are an error (exit 2).
void ParseChaosFlags(int argc, char** argv);
int ChaosKills();
uint64_t ChaosSeed();

}  // namespace owsync::testing

#endif  // OWSYNC_TESTS_CHAOS_FLAGS_H_
