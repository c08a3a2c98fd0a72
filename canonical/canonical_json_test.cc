#include "canonical/canonical_json.h"

#include <gtest/gtest.h>

namespace owsync::canonical {
namespace {

std::string C(std::string_view json) {
  std::string out;
  Status s = AppendCanonicalJson(json, &out);
  EXPECT_TRUE(s.ok()) << json << ": " << s.ToString();
  return out;
}

TEST(CanonicalJsonTest, SpacingAndKeyOrderDoNotMatter) {
  EXPECT_EQ(C(" { \"b\" : 1 ,\n\t\"a\" : [ true , false , null ] } "),
            R"({"a":[true,false,null],"b":1})");
  EXPECT_EQ(C(R"({"b":1,"a":[true,false,null]})"), C(R"({"a": [true, false, null], "b": 1})"));
}

TEST(CanonicalJsonTest, TheLastOfDuplicateKeysWinsAsInJsonb) {
  EXPECT_EQ(C(R"({"a": 1, "b": 2, "a": 3})"), R"({"a":3,"b":2})");
}

TEST(CanonicalJsonTest, NumbersCompareByValue) {
  EXPECT_EQ(C("1.50"), "15e-1");
  EXPECT_EQ(C("15e-1"), "15e-1");
  EXPECT_EQ(C("1.5E+0"), "15e-1");
  EXPECT_EQ(C("100"), "1e2");
  EXPECT_EQ(C("1e2"), "1e2");
  EXPECT_EQ(C("-0.0"), "0");
  EXPECT_EQ(C("0"), "0");
  EXPECT_EQ(C("-12.3400e-2"), "-1234e-4");
  EXPECT_EQ(C("123456789012345678901234567890"), "12345678901234567890123456789e1");
}

TEST(CanonicalJsonTest, StringsAreUnescapedThenEscapedMinimally) {
  EXPECT_EQ(C(R"("\u00e9\/\t\"\\")"), "\"\xc3\xa9/\\u0009\\\"\\\\\"");
  EXPECT_EQ(C(R"("\ud83d\ude00")"), "\"\xf0\x9f\x98\x80\"");
  EXPECT_EQ(C("\"\xe6\x97\xa5\""), "\"\xe6\x97\xa5\"");
  // Sorted by the unescaped bytes: "\u0062" is "b".
  EXPECT_EQ(C(R"({"\u0062": 1, "a": 2})"), R"({"a":2,"b":1})");
}

TEST(CanonicalJsonTest, WhatJsonbRefusesIsRefused) {
  std::string out;
  for (const char* bad :
       {R"("\u0000")", R"("\ud800")", R"("\udc00x")", "\"\xff\"", "{\"a\":1,}", "[1 2]", "01", "1.",
        ".5", "NaN", "tru", "{\"a\" 1}", "\"\x01\"", "1 2", "", "[", "\"abc"}) {
    EXPECT_FALSE(AppendCanonicalJson(bad, &out).ok()) << bad;
  }
  EXPECT_EQ(out, "");
  std::string deep(1200, '[');
  deep += std::string(1200, ']');
  EXPECT_FALSE(AppendCanonicalJson(deep, &out).ok());
}

}  // namespace
}  // namespace owsync::canonical
