#include "tests/failover_flags.h"

#include <gtest/gtest.h>

namespace owsync::tests {
namespace {

TEST(FailoverFlagsTest, CommandLineOverridesDefaultsAndSkipsGtestFlags) {
  FailoverFlags defaults;
  defaults.rounds = 3;
  auto f =
      FailoverFlags::Parse({"--gtest_filter=*Kill*", "--rounds", "20", "--seed", "9"}, defaults);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->rounds, 20);
  EXPECT_EQ(f->seed, 9u);
  EXPECT_EQ(f->ToString(), "--rounds 20 --seed 9");
  auto kept = FailoverFlags::Parse({}, defaults);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->rounds, 3);
  EXPECT_EQ(kept->seed, 1u);
}

TEST(FailoverFlagsTest, UnknownFlagBadNumberOrZeroRoundsIsRefused) {
  EXPECT_FALSE(FailoverFlags::Parse({"--round", "3"}, {}).ok());
  EXPECT_FALSE(FailoverFlags::Parse({"--rounds"}, {}).ok());
  EXPECT_FALSE(FailoverFlags::Parse({"--rounds", "0"}, {}).ok());
  EXPECT_FALSE(FailoverFlags::Parse({"--rounds", "-1"}, {}).ok());
  EXPECT_FALSE(FailoverFlags::Parse({"--seed", "x"}, {}).ok());
  EXPECT_FALSE(FailoverFlags::Parse({"--kills", "3"}, {}).ok());
}

}  // namespace
}  // namespace owsync::tests
