#include "util/coding.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace owsync {
namespace {

TEST(CodingTest, FixedIsLittleEndian) {
  std::string s;
  PutFixed32(&s, 0x04030201u);
  PutFixed64(&s, 0x0807060504030201ull);
  ASSERT_EQ(s.size(), 12u);
  EXPECT_EQ(s.substr(0, 4), std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(s.substr(4), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(DecodeFixed32(s.data()), 0x04030201u);
  EXPECT_EQ(DecodeFixed64(s.data() + 4), 0x0807060504030201ull);
}

TEST(CodingTest, FixedRoundTrips) {
  const std::vector<uint64_t> values = {0,
                                        1,
                                        127,
                                        128,
                                        255,
                                        256,
                                        0xFFFFFFFFull,
                                        0x100000000ull,
                                        std::numeric_limits<uint64_t>::max()};
  std::string s;
  for (uint64_t v : values) {
    PutFixed32(&s, static_cast<uint32_t>(v));
    PutFixed64(&s, v);
  }
  std::string_view in(s);
  for (uint64_t v : values) {
    uint32_t v32 = 0;
    uint64_t v64 = 0;
    ASSERT_TRUE(GetFixed32(&in, &v32));
    ASSERT_TRUE(GetFixed64(&in, &v64));
    EXPECT_EQ(v32, static_cast<uint32_t>(v));
    EXPECT_EQ(v64, v);
  }
  EXPECT_TRUE(in.empty());
}

TEST(CodingTest, EncodeFixedWritesInPlace) {
  char buf[8];
  EncodeFixed32(buf, 0xDEADBEEFu);
  EXPECT_EQ(DecodeFixed32(buf), 0xDEADBEEFu);
  EncodeFixed64(buf, 0x0123456789ABCDEFull);
  EXPECT_EQ(DecodeFixed64(buf), 0x0123456789ABCDEFull);
}

TEST(CodingTest, Varint64RoundTripsAndLengths) {
  std::vector<uint64_t> values = {
      0, 1, 127, 128, 129, 16383, 16384, 0xFFFFFFFFull, std::numeric_limits<uint64_t>::max()};
  for (int bit = 0; bit < 64; ++bit) {
    const uint64_t p = uint64_t{1} << bit;
    values.push_back(p - 1);
    values.push_back(p);
    values.push_back(p + 1);
  }
  std::string s;
  for (uint64_t v : values) {
    const size_t before = s.size();
    PutVarint64(&s, v);
    EXPECT_EQ(static_cast<int>(s.size() - before), VarintLength(v)) << v;
  }
  std::string_view in(s);
  for (uint64_t v : values) {
    uint64_t got = 0;
    ASSERT_TRUE(GetVarint64(&in, &got));
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(in.empty());
}

TEST(CodingTest, VarintKnownEncodings) {
  std::string s;
  PutVarint64(&s, 0);
  EXPECT_EQ(s, std::string("\x00", 1));
  s.clear();
  PutVarint64(&s, 127);
  EXPECT_EQ(s, "\x7f");
  s.clear();
  PutVarint64(&s, 128);
  EXPECT_EQ(s, "\x80\x01");
  s.clear();
  PutVarint64(&s, 300);
  EXPECT_EQ(s, "\xac\x02");
  s.clear();
  PutVarint64(&s, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(s, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
  EXPECT_EQ(VarintLength(std::numeric_limits<uint64_t>::max()), 10);
}

TEST(CodingTest, Varint32RoundTripsAndRejectsWiderValues) {
  std::string s;
  for (uint32_t v : {0u, 1u, 127u, 128u, 0x0FFFFFFFu, 0x10000000u, 0xFFFFFFFFu}) {
    s.clear();
    PutVarint32(&s, v);
    std::string_view in(s);
    uint32_t got = 0;
    ASSERT_TRUE(GetVarint32(&in, &got));
    EXPECT_EQ(got, v);
    EXPECT_TRUE(in.empty());
  }
  s.clear();
  PutVarint64(&s, uint64_t{1} << 32);
  std::string_view in(s);
  uint32_t got = 0;
  EXPECT_FALSE(GetVarint32(&in, &got));
}

TEST(CodingTest, ZigzagRoundTripsExtremes) {
  const std::vector<int64_t> values = {0,
                                       1,
                                       -1,
                                       2,
                                       -2,
                                       63,
                                       -64,
                                       64,
                                       -65,
                                       std::numeric_limits<int64_t>::max(),
                                       std::numeric_limits<int64_t>::min(),
                                       std::numeric_limits<int64_t>::max() - 1,
                                       std::numeric_limits<int64_t>::min() + 1};
  std::string s;
  for (int64_t v : values) PutVarsint64(&s, v);
  std::string_view in(s);
  for (int64_t v : values) {
    int64_t got = 0;
    ASSERT_TRUE(GetVarsint64(&in, &got));
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(in.empty());
}

TEST(CodingTest, ZigzagKeepsSmallMagnitudesShort) {
  std::string s;
  PutVarsint64(&s, -1);
  EXPECT_EQ(s, "\x01");
  s.clear();
  PutVarsint64(&s, 1);
  EXPECT_EQ(s, "\x02");
  s.clear();
  PutVarsint64(&s, -64);
  EXPECT_EQ(s, "\x7f");
  s.clear();
  PutVarsint64(&s, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(s.size(), 10u);
}

TEST(CodingTest, TruncatedInputsReturnFalse) {
  std::string s;
  PutFixed64(&s, 42);
  for (size_t n = 0; n < 8; ++n) {
    std::string_view in(s.data(), n);
    uint64_t v = 0;
    EXPECT_FALSE(GetFixed64(&in, &v)) << n;
    uint32_t v32 = 0;
    std::string_view in32(s.data(), n);
    if (n < 4) {
      EXPECT_FALSE(GetFixed32(&in32, &v32)) << n;
    }
  }
  s.clear();
  PutVarint64(&s, std::numeric_limits<uint64_t>::max());
  for (size_t n = 0; n < s.size(); ++n) {
    std::string_view in(s.data(), n);
    uint64_t v = 0;
    EXPECT_FALSE(GetVarint64(&in, &v)) << n;
    std::string_view ins(s.data(), n);
    int64_t sv = 0;
    EXPECT_FALSE(GetVarsint64(&ins, &sv)) << n;
  }
  s.clear();
  PutLengthPrefixed(&s, "hello");
  for (size_t n = 0; n < s.size(); ++n) {
    std::string_view in(s.data(), n);
    std::string_view value;
    EXPECT_FALSE(GetLengthPrefixed(&in, &value)) << n;
  }
}

TEST(CodingTest, OverlongVarintsReturnFalse) {
  // Eleven continuation bytes: longer than any 64-bit varint.
  std::string overlong(10, '\x80');
  overlong += '\x01';
  std::string_view in(overlong);
  uint64_t v = 0;
  EXPECT_FALSE(GetVarint64(&in, &v));
  // Ten bytes whose last carries bits past bit 63.
  std::string overflow(9, '\xff');
  overflow += '\x02';
  in = overflow;
  EXPECT_FALSE(GetVarint64(&in, &v));
  // Six bytes for a 32-bit varint.
  std::string overlong32(5, '\x80');
  overlong32 += '\x01';
  std::string_view in32(overlong32);
  uint32_t v32 = 0;
  EXPECT_FALSE(GetVarint32(&in32, &v32));
}

TEST(CodingTest, LengthPrefixedRoundTrips) {
  std::string big(300, 'z');
  std::string s;
  PutLengthPrefixed(&s, "");
  PutLengthPrefixed(&s, "abc");
  PutLengthPrefixed(&s, std::string_view("\0x\0", 3));
  PutLengthPrefixed(&s, big);
  std::string_view in(s);
  std::string_view value;
  ASSERT_TRUE(GetLengthPrefixed(&in, &value));
  EXPECT_EQ(value, "");
  ASSERT_TRUE(GetLengthPrefixed(&in, &value));
  EXPECT_EQ(value, "abc");
  ASSERT_TRUE(GetLengthPrefixed(&in, &value));
  EXPECT_EQ(value, std::string_view("\0x\0", 3));
  ASSERT_TRUE(GetLengthPrefixed(&in, &value));
  EXPECT_EQ(value, big);
  EXPECT_TRUE(in.empty());
}

TEST(CodingTest, LengthBeyondInputReturnsFalse) {
  std::string s;
  PutVarint64(&s, std::numeric_limits<uint64_t>::max());
  s += "abc";
  std::string_view in(s);
  std::string_view value;
  EXPECT_FALSE(GetLengthPrefixed(&in, &value));
}

}  // namespace
}  // namespace owsync
