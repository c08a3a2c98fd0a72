#include "util/clock.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "util/fake_clock.h"

namespace owsync {
namespace {

TEST(ClockTest, SystemMonotonicClockNeverGoesBack) {
  auto clock = NewSystemClock();
  int64_t last = clock->MonotonicMicros();
  for (int i = 0; i < 10000; ++i) {
    const int64_t now = clock->MonotonicMicros();
    ASSERT_GE(now, last);
    last = now;
  }
}

TEST(ClockTest, SystemWallClockIsNearTheRealTime) {
  auto clock = NewSystemClock();
  const int64_t now = clock->NowMicros();
  EXPECT_GT(now, int64_t{1'700'000'000} * 1'000'000);  // after November 2023
  EXPECT_LT(now, int64_t{4'000'000'000} * 1'000'000);
}

TEST(ClockTest, SystemSleepWaitsAtLeastTheDuration) {
  auto clock = NewSystemClock();
  const int64_t start = clock->MonotonicMicros();
  clock->SleepForMicros(20'000);
  EXPECT_GE(clock->MonotonicMicros() - start, 20'000);
  const int64_t before = clock->MonotonicMicros();
  clock->SleepForMicros(0);
  clock->SleepForMicros(-5);
  EXPECT_LT(clock->MonotonicMicros() - before, 1'000'000);
}

TEST(FakeClockTest, MovesOnlyWhenAdvancedOrSleptOn) {
  FakeClock clock(1'000);
  EXPECT_EQ(clock.NowMicros(), 1'000);
  EXPECT_EQ(clock.MonotonicMicros(), 1'000);
  EXPECT_EQ(clock.NowMicros(), 1'000);
  clock.Advance(500);
  EXPECT_EQ(clock.NowMicros(), 1'500);
  clock.SleepForMicros(250);
  EXPECT_EQ(clock.MonotonicMicros(), 1'750);
  clock.SleepForMicros(0);
  clock.SleepForMicros(-100);
  EXPECT_EQ(clock.NowMicros(), 1'750);
}

TEST(FakeClockTest, ConcurrentAdvancesAllCount) {
  FakeClock clock(0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&clock] {
      for (int i = 0; i < 1000; ++i) clock.SleepForMicros(1);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(clock.NowMicros(), 4000);
}

TEST(FakeClockTest, UsableThroughTheClockInterface) {
  FakeClock fake;
  Clock* clock = &fake;
  const int64_t start = clock->MonotonicMicros();
  clock->SleepForMicros(3'000'000);
  EXPECT_EQ(clock->MonotonicMicros() - start, 3'000'000);
}

}  // namespace
}  // namespace owsync
