#include "tests/ship_chaos_flags.h"

#include <gtest/gtest.h>

namespace owsync::tests {
namespace {

TEST(ShipChaosFlagsTest, CommandLineOverridesDefaultsAndSkipsGtestFlags) {
  ShipChaosFlags defaults;
  defaults.kills = 7;
  auto f = ShipChaosFlags::Parse(
      {"--gtest_filter=*v0_11_0*", "--kills", "50", "--seed", "9", "--pg-restarts", "3"}, defaults);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->kills, 50);
  EXPECT_EQ(f->pg_restarts, 3);
  EXPECT_EQ(f->seed, 9u);
  EXPECT_EQ(f->ToString(), "--kills 50 --pg-restarts 3 --seed 9");
  auto kept = ShipChaosFlags::Parse({}, defaults);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->kills, 7);
}

TEST(ShipChaosFlagsTest, UnknownFlagOrBadNumberIsRefused) {
  EXPECT_FALSE(ShipChaosFlags::Parse({"--kils", "3"}, {}).ok());
  EXPECT_FALSE(ShipChaosFlags::Parse({"--kills"}, {}).ok());
  EXPECT_FALSE(ShipChaosFlags::Parse({"--kills", "-1"}, {}).ok());
  EXPECT_FALSE(ShipChaosFlags::Parse({"--seed", "x"}, {}).ok());
}

}  // namespace
}  // namespace owsync::tests
