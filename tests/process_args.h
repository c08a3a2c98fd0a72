// Helpers of the chaos tests' flags (tests/ship_chaos_flags.h, tests/failover_flags.h): their
// main() is the PostgreSQL harness's, so each reads its own flags from the environment and
// from this process's command line.
#ifndef OWSYNC_TESTS_PROCESS_ARGS_H_
#define OWSYNC_TESTS_PROCESS_ARGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "util/file_system.h"
#include "util/result.h"

namespace owsync::tests {

// A plain decimal of at most 19 digits; false (and *out untouched) otherwise.
bool ParseDecimal(const std::string& text, uint64_t* out);
// The variable's value, "" when unset.
std::string EnvOrEmpty(const char* name);
// This process's arguments after the program name (/proc/self/cmdline, read through `fs`).
Result<std::vector<std::string>> ProcessArgs(FileSystem* fs);

}  // namespace owsync::tests

#endif  // OWSYNC_TESTS_PROCESS_ARGS_H_
