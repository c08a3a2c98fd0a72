#include "util/utf8.h"

#include <gtest/gtest.h>

namespace owsync {
namespace {

TEST(Utf8Test, WellFormedSequencesAndTheFirstBadByte) {
  EXPECT_EQ(Utf8SequenceAt("a", 0), 1u);
  EXPECT_EQ(Utf8SequenceAt("\xc3\xa9", 0), 2u);
  EXPECT_EQ(Utf8SequenceAt("\xe6\x97\xa5", 0), 3u);
  EXPECT_EQ(Utf8SequenceAt("\xf0\x9f\x98\x80", 0), 4u);
  for (const char* bad :
       {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe6\x97", "\x80", "\xff"}) {
    EXPECT_EQ(Utf8SequenceAt(bad, 0), 0u) << bad;
  }
  EXPECT_EQ(FirstInvalidUtf8("ab\xc3\xa9x\xffz"), 5u);
  EXPECT_EQ(FirstInvalidUtf8("fine \xe6\x97\xa5"), 8u);
}

}  // namespace
}  // namespace owsync
