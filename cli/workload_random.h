// WorkloadRandom: a small, seeded pseudo-random generator (xoshiro256**, seeded by splitmix64)
// whose sequence is the same on every platform and standard library, so a workload is
// reproducible from its seed. Not for anything secret.
#ifndef OWSYNC_CLI_WORKLOAD_RANDOM_H_
#define OWSYNC_CLI_WORKLOAD_RANDOM_H_

#include <cstdint>
#include <string>

namespace owsync::cli {

class WorkloadRandom {
 public:
  explicit WorkloadRandom(uint64_t seed) {
    for (uint64_t& s : state_) {
      seed += 0x9e3779b97f4a7c15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      s = z ^ (z >> 31);
    }
  }

  uint64_t Next() {
    uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }
  // Uniform in [0, n); n > 0.
  uint64_t Uniform(uint64_t n) { return Next() % n; }
  // Uniform in [lo, hi].
  int64_t Range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Uniform(static_cast<uint64_t>(hi - lo) + 1));
  }
  // True with probability p.
  bool Chance(double p) { return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p; }
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // `n` lowercase hex digits.
  std::string Hex(int n) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n);
    uint64_t bits = 0;
    for (int i = 0; i < n; ++i) {
      if (i % 16 == 0) bits = Next();
      out += kDigits[bits & 15];
      bits >>= 4;
    }
    return out;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_WORKLOAD_RANDOM_H_
