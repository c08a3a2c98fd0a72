#include "tests/chaos_flags.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace owsync::testing {
namespace {

struct ChaosFlags {
  int kills = 4;
  uint64_t seed = 1;
};

ChaosFlags& Flags() {
  static ChaosFlags flags;  // written by ParseChaosFlags before any test runs
  return flags;
}

bool ParseNumber(const char* text, uint64_t* out) {
  if (text == nullptr || *text == '\0') return false;
  char* end = nullptr;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (*end != '\0') return false;
  *out = v;
  return true;
}

[[noreturn]] void Usage(const char* what) {
  std::fprintf(stderr, "bad chaos flag %s; usage: [--kills N] [--seed S]\n", what);
  std::exit(2);
}

}  // namespace

void ParseChaosFlags(int argc, char** argv) {
  uint64_t v = 0;
  if (ParseNumber(std::getenv("OWSYNC_KILLS"), &v)) Flags().kills = static_cast<int>(v);
  if (ParseNumber(std::getenv("OWSYNC_CHAOS_SEED"), &v)) Flags().seed = v;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (arg == "--kills" && ParseNumber(value, &v)) {
      Flags().kills = static_cast<int>(v);
      ++i;
    } else if (arg == "--seed" && ParseNumber(value, &v)) {
      Flags().seed = v;
      ++i;
    } else {
      Usage(argv[i]);
    }
  }
  std::printf("chaos flags: --kills %d --seed %llu\n", Flags().kills,
              static_cast<unsigned long long>(Flags().seed));
}

int ChaosKills() { return Flags().kills; }
uint64_t ChaosSeed() { return Flags().seed; }

}  // namespace owsync::testing
