// The lease's fast path against a real PostgreSQL: a leader with a lock URL holds the cluster's
// advisory lock and records its backend in the row; a follower takes over at once when that
// session is gone, never while it lives; a deposed leader lets the lock go; without a lock URL
// only the expiry hands over.
#include <gtest/gtest.h>

#include "shipper/lease_test_fixture.h"
#include "util/fake_clock.h"

namespace owsync::shipper {
namespace {

class LeaseFastPathTest : public LeaseTest {
 protected:
  std::unique_ptr<Lease> NewLockingLease(const std::string& name, int64_t lease_micros,
                                         Clock* clock = nullptr) {
    LeaseOptions o = Options(name, lease_micros);
    o.lock_url = host_.url;
    return std::make_unique<Lease>(clock ? clock : clock_, &log_, host_.url, o);
  }
  // Granted advisory locks of the cluster's key held by backend `pid`.
  int LocksOf(int pid) {
    auto res = admin_->ExecParams(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = "
        "$1::int AND classid = 28535::oid AND objid = (hashtext('owsync:' || $2) & "
        "2147483647)::oid AND objsubid = 2",
        {std::to_string(pid), host_.cluster}, Deadline::After(clock_, 10'000'000));
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? std::stoi(std::string(res->GetValue(0, 0))) : -1;
  }
  // Locks of `pid` once its session had up to 2 s to end (closing is asynchronous).
  int LocksAfterClose(int pid) {
    for (int i = 0; i < 100 && LocksOf(pid) != 0; ++i) SleepMicros(20'000);
    return LocksOf(pid);
  }
  void Terminate(int pid) {
    auto res = admin_->ExecParams("SELECT pg_terminate_backend($1::int)", {std::to_string(pid)},
                                  Deadline::After(clock_, 10'000'000));
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    ASSERT_EQ(LocksAfterClose(pid), 0);
  }
};

TEST_F(LeaseFastPathTest, LeaderHoldsTheLockAndRecordsItsBackendFromItsFirstStatement) {
  auto a = NewLockingLease("a", 10'000'000);
  ASSERT_TRUE(Acquire(*a));
  ASSERT_NE(a->lock_pid(), 0);
  EXPECT_EQ(Row("lock_pid"), std::to_string(a->lock_pid()));
  EXPECT_EQ(LocksOf(a->lock_pid()), 1);
  EXPECT_EQ(a->last_observed().lock_pid, a->lock_pid());
  EXPECT_TRUE(log_.Contains("fast path armed"));
}

TEST_F(LeaseFastPathTest, FollowerTakesOverAtOnceWhenTheLeadersSessionIsGone) {
  auto a = NewLockingLease("a", 60'000'000);  // a minute: only the fast path can be this quick
  auto b = NewLockingLease("b", 60'000'000);
  ASSERT_TRUE(Acquire(*a));
  const int64_t epoch = a->epoch();
  EXPECT_FALSE(Acquire(*b));
  a.reset();  // like a crash: its sessions close, the lock with them
  const int64_t t0 = clock_->MonotonicMicros();
  bool taken = false;
  while (!taken && clock_->MonotonicMicros() - t0 < 5'000'000) {
    taken = Acquire(*b);
    if (!taken) SleepMicros(50'000);
  }
  ASSERT_TRUE(taken) << "the follower must not wait for the minute-long lease";
  EXPECT_GT(b->epoch(), epoch);
  EXPECT_EQ(Row("leader_id"), b->node_id());
  EXPECT_EQ(Row("lock_pid"), std::to_string(b->lock_pid()));
  EXPECT_TRUE(log_.Contains("fast path: the session of previous leader"));
}

TEST_F(LeaseFastPathTest, NoTakeoverWhileTheLeadersLockSessionLives) {
  auto a = NewLockingLease("a", 2'000'000);
  auto b = NewLockingLease("b", 2'000'000);
  ASSERT_TRUE(Acquire(*a));
  const int64_t epoch = a->epoch();
  for (int i = 0; i < 6; ++i) {  // 3 s > the lease: renewals keep it, the follower follows
    SleepMicros(500'000);
    ASSERT_TRUE(Acquire(*a));
    EXPECT_FALSE(Acquire(*b));
  }
  EXPECT_EQ(a->epoch(), epoch);
  EXPECT_EQ(Row("leader_id"), a->node_id());
  EXPECT_EQ(b->lock_pid(), 0) << "a follower never takes the lock";
}

TEST_F(LeaseFastPathTest, LeaderWhoseLockSessionWasEndedTakesTheLockAgainAtItsNextRenewal) {
  auto a = NewLockingLease("a", 10'000'000);
  ASSERT_TRUE(Acquire(*a));
  const int64_t epoch = a->epoch();
  const int old_pid = a->lock_pid();
  Terminate(old_pid);
  ASSERT_TRUE(Acquire(*a));  // renewal notices, locks again, records the new backend
  EXPECT_EQ(a->epoch(), epoch);
  EXPECT_NE(a->lock_pid(), old_pid);
  EXPECT_EQ(Row("lock_pid"), std::to_string(a->lock_pid()));
  EXPECT_EQ(LocksOf(a->lock_pid()), 1);
}

TEST_F(LeaseFastPathTest, LeaderWhoseLockSessionWasEndedIsReplacedIfTheFollowerComesFirst) {
  auto a = NewLockingLease("a", 10'000'000);
  auto b = NewLockingLease("b", 10'000'000);
  ASSERT_TRUE(Acquire(*a));
  const int64_t epoch = a->epoch();
  Terminate(a->lock_pid());
  ASSERT_TRUE(Acquire(*b)) << "the recorded session is gone: that is all a follower can see";
  EXPECT_GT(b->epoch(), epoch);
  EXPECT_FALSE(Acquire(*a)) << "the old leader steps down cleanly";
  EXPECT_FALSE(a->IsHeld());
  EXPECT_EQ(a->lock_pid(), 0);
  EXPECT_TRUE(log_.Contains("stepped down from epoch " + std::to_string(epoch)));
}

TEST_F(LeaseFastPathTest, DeposedLeaderLetsTheLockGoSoTheNewLeaderArmsItsFastPath) {
  FakeClock fake(clock_->MonotonicMicros());
  auto a = NewLockingLease("a", 1'000'000, &fake);
  auto b = NewLockingLease("b", 1'000'000);
  ASSERT_TRUE(Acquire(*a));
  const int a_pid = a->lock_pid();
  ASSERT_NE(a_pid, 0);
  // a freezes (its clock does not move, it sends nothing); the lease expires at the server.
  SleepMicros(1'100'000);
  ASSERT_TRUE(Acquire(*b));
  EXPECT_EQ(b->lock_pid(), 0) << "a's session still holds the lock";
  EXPECT_EQ(Row("coalesce(lock_pid::text, 'null')"), "null");
  // a wakes: its own clock says the hold is over; its next statement drops the lock.
  fake.Advance(2'000'000);
  EXPECT_FALSE(Acquire(*a));
  EXPECT_EQ(a->lock_pid(), 0);
  EXPECT_EQ(LocksAfterClose(a_pid), 0);
  ASSERT_TRUE(Acquire(*b));  // b's renewal takes the lock now
  EXPECT_NE(b->lock_pid(), 0);
  EXPECT_EQ(Row("lock_pid"), std::to_string(b->lock_pid()));
}

TEST_F(LeaseFastPathTest, WithoutALockUrlOnlyTheExpiryHandsOver) {
  auto a = NewLease("a", 1'500'000);
  auto b = NewLockingLease("b", 1'500'000);
  ASSERT_TRUE(Acquire(*a));
  EXPECT_EQ(a->lock_pid(), 0);
  EXPECT_EQ(Row("coalesce(lock_pid::text, 'null')"), "null");
  a.reset();  // crash: nothing tells the follower but the clock
  EXPECT_FALSE(Acquire(*b));
  SleepMicros(1'600'000);
  EXPECT_TRUE(Acquire(*b));
}

TEST_F(LeaseFastPathTest, ReleaseEndsTheLeaseAndTheLock) {
  auto a = NewLockingLease("a", 10'000'000);
  auto b = NewLockingLease("b", 10'000'000);
  ASSERT_TRUE(Acquire(*a));
  const int pid = a->lock_pid();
  ASSERT_TRUE(a->Release().ok());
  EXPECT_EQ(LocksAfterClose(pid), 0);
  EXPECT_TRUE(Acquire(*b));
}

}  // namespace
}  // namespace owsync::shipper
