#include "util/hex.h"

#include <gtest/gtest.h>

namespace owsync {
namespace {

TEST(HexTest, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  const std::string hex = HexEncode(all);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(hex.size() - 4), "feff");
  std::string back;
  ASSERT_TRUE(HexDecode(hex, &back));
  EXPECT_EQ(back, all);
}

TEST(HexTest, MalformedTextIsRefused) {
  std::string out;
  EXPECT_FALSE(HexDecode("abc", &out));
  EXPECT_FALSE(HexDecode("zz", &out));
  EXPECT_TRUE(HexDecode("ABcd", &out));
  EXPECT_EQ(out, "\xab\xcd");
}

}  // namespace
}  // namespace owsync
