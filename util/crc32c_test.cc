#include "util/crc32c.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "util/crc32c_internal.h"

namespace owsync::crc32c {
namespace {

using internal::ExtendHardware;
using internal::ExtendPortable;
using internal::HasHardwareSupport;

using ExtendFn = uint32_t (*)(uint32_t, const char*, size_t);

// Every test runs against the dispatching entry point and each implementation the CPU has.
std::vector<std::pair<std::string, ExtendFn>> Implementations() {
  std::vector<std::pair<std::string, ExtendFn>> impls = {{"dispatch", &Extend},
                                                         {"portable", &ExtendPortable}};
  if (HasHardwareSupport()) impls.emplace_back("sse4.2", &ExtendHardware);
  return impls;
}

uint32_t ValueWith(ExtendFn fn, const std::string& s) { return fn(0, s.data(), s.size()); }

TEST(Crc32cTest, Rfc3720Vectors) {
  std::string zeros(32, '\0');
  std::string ones(32, '\xff');
  std::string ascending(32, '\0');
  std::string descending(32, '\0');
  for (int i = 0; i < 32; ++i) {
    ascending[i] = static_cast<char>(i);
    descending[i] = static_cast<char>(31 - i);
  }
  // RFC 3720 B.4: an iSCSI read (10) command PDU.
  const unsigned char kIscsi[48] = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  std::string iscsi(reinterpret_cast<const char*>(kIscsi), sizeof(kIscsi));

  for (const auto& [name, fn] : Implementations()) {
    SCOPED_TRACE(name);
    EXPECT_EQ(ValueWith(fn, zeros), 0x8A9136AAu);
    EXPECT_EQ(ValueWith(fn, ones), 0x62A8AB43u);
    EXPECT_EQ(ValueWith(fn, ascending), 0x46DD794Eu);
    EXPECT_EQ(ValueWith(fn, descending), 0x113FDB5Cu);
    EXPECT_EQ(ValueWith(fn, iscsi), 0xD9963A56u);
    EXPECT_EQ(ValueWith(fn, "123456789"), 0xE3069283u);
    EXPECT_EQ(ValueWith(fn, ""), 0u);
  }
}

TEST(Crc32cTest, ValueOverloadsAgree) {
  const std::string s = "hello, outbox";
  EXPECT_EQ(Value(s), Value(s.data(), s.size()));
  EXPECT_NE(Value("a"), Value("b"));
}

TEST(Crc32cTest, ExtendOverSplitBuffersEqualsValueOfWhole) {
  std::mt19937 rng(42);
  std::string data(1000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  const uint32_t whole = Value(data);
  for (const auto& [name, fn] : Implementations()) {
    SCOPED_TRACE(name);
    for (size_t cut = 0; cut <= data.size(); cut += 7) {
      const uint32_t first = fn(0, data.data(), cut);
      EXPECT_EQ(fn(first, data.data() + cut, data.size() - cut), whole) << "cut at " << cut;
    }
    // Three pieces, including empty ones.
    uint32_t crc = fn(0, data.data(), 0);
    crc = fn(crc, data.data(), 333);
    crc = fn(crc, data.data() + 333, 0);
    crc = fn(crc, data.data() + 333, data.size() - 333);
    EXPECT_EQ(crc, whole);
  }
}

TEST(Crc32cTest, HardwareAndPortableAgreeOnRandomInputs) {
  if (!HasHardwareSupport()) {
    // Nothing to compare on this CPU; the dispatcher must then use the portable code.
    EXPECT_EQ(Value("123456789"), ExtendPortable(0, "123456789", 9));
    return;
  }
  std::mt19937_64 rng(7);
  std::string buf(4096 + 16, '\0');
  for (char& c : buf) c = static_cast<char>(rng());
  int checked = 0;
  for (size_t len : {0,  1,  2,  3,  4,   5,   7,   8,   9,    15,   16,   17,   31,  32,
                     33, 63, 64, 65, 100, 255, 256, 257, 1000, 1023, 1024, 4095, 4096}) {
    for (size_t align = 0; align < 16; ++align) {
      const uint32_t init = static_cast<uint32_t>(rng());
      const char* p = buf.data() + align;
      ASSERT_EQ(ExtendHardware(init, p, len), ExtendPortable(init, p, len))
          << "len " << len << " align " << align;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 27 * 16);
}

TEST(Crc32cTest, DetectsSingleBitFlips) {
  std::string data(64, 'x');
  const uint32_t base = Value(data);
  for (size_t i = 0; i < data.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = data;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      EXPECT_NE(Value(flipped), base);
    }
  }
}

}  // namespace
}  // namespace owsync::crc32c
