// Lease against a real PostgreSQL, as a host role registered by `db add-host` (row-level
// security applies): acquisition, renewal, expiry, release, step-down by our own clock, and
// nodes racing for the row.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "shipper/lease_test_fixture.h"
#include "shipper/pg_error.h"
#include "util/fake_clock.h"

namespace owsync::shipper {
namespace {

TEST_F(LeaseTest, FirstNodeAcquiresAndSecondCannotWhileHeld) {
  auto a = NewLease("a", 10'000'000);
  auto b = NewLease("b", 10'000'000);
  EXPECT_FALSE(a->IsHeld());
  EXPECT_EQ(a->epoch(), 0);
  ASSERT_TRUE(Acquire(*a));
  EXPECT_TRUE(a->IsHeld());
  const int64_t epoch = a->epoch();
  EXPECT_GT(epoch, 0);
  EXPECT_EQ(Row("leader_id"), a->node_id());
  EXPECT_EQ(Row("leader_host_id"), host_.host_id);
  EXPECT_EQ(Row("epoch"), std::to_string(epoch));
  EXPECT_EQ(Row("lease_expires_at > now() + interval '8 seconds'"), "true");
  EXPECT_EQ(Row("expires_at > acquired_at"), "true");

  EXPECT_FALSE(Acquire(*b));
  EXPECT_FALSE(b->IsHeld());
  EXPECT_EQ(b->epoch(), 0);
  EXPECT_EQ(b->last_observed().leader_id, a->node_id());
  EXPECT_EQ(b->last_observed().epoch, epoch);
  EXPECT_EQ(Row("leader_id"), a->node_id());
  EXPECT_TRUE(log_.Contains("acquired epoch " + std::to_string(epoch) + " (no lease row"));
}

TEST_F(LeaseTest, RenewalKeepsTheEpochAndDrawsNoNewOne) {
  auto a = NewLease("a", 2'000'000);
  auto b = NewLease("b", 2'000'000);
  ASSERT_TRUE(Acquire(*a));
  const int64_t epoch = a->epoch();
  const int64_t seq = SequenceValue();
  int64_t last_expiry = a->last_observed().expires_at_micros;
  for (int i = 0; i < 5; ++i) {
    SleepMicros(500'000);  // 5 x 0.5 s > the 2 s lease: only renewals keep it
    ASSERT_TRUE(Acquire(*a));
    EXPECT_EQ(a->epoch(), epoch);
    EXPECT_GT(a->last_observed().expires_at_micros, last_expiry);
    last_expiry = a->last_observed().expires_at_micros;
    EXPECT_FALSE(Acquire(*b));
  }
  EXPECT_EQ(SequenceValue(), seq) << "a renewal must not draw an epoch";
  EXPECT_EQ(Row("heartbeat_count"), "5");
  EXPECT_EQ(Row("epoch"), std::to_string(epoch));
}

TEST_F(LeaseTest, AfterExpiryTheSecondNodeAcquiresWithAHigherEpoch) {
  auto a = NewLease("a", 300'000);
  auto b = NewLease("b", 300'000);
  ASSERT_TRUE(Acquire(*a));
  const int64_t first = a->epoch();
  EXPECT_FALSE(Acquire(*b));
  SleepMicros(400'000);
  EXPECT_FALSE(a->IsHeld()) << "own clock: the hold ended before the server lease";
  ASSERT_TRUE(Acquire(*b));
  EXPECT_GT(b->epoch(), first);
  EXPECT_EQ(Row("leader_id"), b->node_id());
  EXPECT_FALSE(Acquire(*a)) << "the old leader cannot renew a lease taken over";
  EXPECT_FALSE(a->IsHeld());
  EXPECT_EQ(a->last_observed().leader_id, b->node_id());
  EXPECT_TRUE(log_.Contains("previous leader " + a->node_id()));
}

TEST_F(LeaseTest, OwnLeaseExpiredAtTheServerIsReacquiredWithANewEpoch) {
  // A lease long enough that a slow round trip (sanitizers, a loaded machine) still leaves
  // time held by our own clock.
  auto a = NewLease("a", 1'500'000);
  ASSERT_TRUE(Acquire(*a));
  const int64_t first = a->epoch();
  SleepMicros(1'800'000);
  ASSERT_TRUE(Acquire(*a));
  EXPECT_GT(a->epoch(), first);
  EXPECT_EQ(Row("heartbeat_count"), "0");
  EXPECT_TRUE(log_.Contains("our own previous lease had expired"));
}

TEST_F(LeaseTest, ReleaseHandsOverAtOnceAndEpochsStrictlyIncrease) {
  std::vector<int64_t> epochs;
  for (int i = 0; i < 6; ++i) {
    auto lease = NewLease(i % 2 == 0 ? "a" : "b", 30'000'000);
    const int64_t t0 = clock_->MonotonicMicros();
    ASSERT_TRUE(lease->AcquireAndKeep(Deadline::After(clock_, 5'000'000)).ok()) << i;
    EXPECT_LT(clock_->MonotonicMicros() - t0, 3'000'000) << "released leases are free at once";
    ASSERT_TRUE(lease->IsHeld());
    epochs.push_back(lease->epoch());
    EXPECT_EQ(Row("leader_id"), lease->node_id());
    ASSERT_TRUE(lease->Release().ok());
    EXPECT_FALSE(lease->IsHeld());
    EXPECT_EQ(lease->epoch(), 0);
    EXPECT_EQ(Row("lease_expires_at <= now()"), "true");
    EXPECT_EQ(Row("expires_at > acquired_at"), "true");
  }
  for (size_t i = 1; i < epochs.size(); ++i) EXPECT_GT(epochs[i], epochs[i - 1]);
  EXPECT_TRUE(log_.Contains("released epoch"));
}

TEST_F(LeaseTest, ReleaseOfALeaseTakenOverChangesNothing) {
  auto a = NewLease("a", 1'500'000);
  auto b = NewLease("b", 10'000'000);
  ASSERT_TRUE(Acquire(*a));
  SleepMicros(1'800'000);
  ASSERT_TRUE(Acquire(*b));
  ASSERT_TRUE(a->Release().ok());
  EXPECT_EQ(Row("leader_id"), b->node_id());
  EXPECT_EQ(Row("lease_expires_at > now()"), "true");
  EXPECT_TRUE(b->IsHeld());
}

TEST_F(LeaseTest, StepsDownByItsOwnClockBeforeTheServerExpiry) {
  FakeClock fake(clock_->MonotonicMicros());
  auto a = NewLease("a", 10'000'000, &fake);  // margin 2 s: held for 8 s from sending
  ASSERT_TRUE(Acquire(*a));
  const int64_t epoch = a->epoch();
  fake.Advance(8'000'000 - 1);
  EXPECT_TRUE(a->IsHeld());
  fake.Advance(1);
  EXPECT_FALSE(a->IsHeld());
  EXPECT_EQ(a->epoch(), 0);
  // The server still counts the lease as ours: stepping down came first.
  EXPECT_EQ(Row("lease_expires_at > now() and leader_id = '" + a->node_id() + "'"), "true");
  // A renewal that reaches the server in time keeps the same epoch.
  ASSERT_TRUE(Acquire(*a));
  EXPECT_EQ(a->epoch(), epoch);
  EXPECT_TRUE(log_.Contains("stepped down from epoch " + std::to_string(epoch)));
}

TEST_F(LeaseTest, BackgroundRenewalKeepsTheLeaseAndAFollowerTakesOverAfterACrash) {
  auto a = NewLease("a", 600'000);
  auto b = NewLease("b", 600'000);
  ASSERT_TRUE(a->AcquireAndKeep(Deadline::After(clock_, 5'000'000)).ok());
  const int64_t epoch = a->epoch();
  Status follower = b->AcquireAndKeep(Deadline::After(clock_, 2'000'000));
  EXPECT_EQ(follower.code(), StatusCode::kBusy) << follower.ToString();
  EXPECT_TRUE(a->IsHeld());
  EXPECT_EQ(a->epoch(), epoch);
  EXPECT_GE(std::stoi(Row("heartbeat_count")), 4);
  a->Stop();  // like a crash: no release; b's thread is still campaigning
  const int64_t t0 = clock_->MonotonicMicros();
  ASSERT_TRUE(b->AcquireAndKeep(Deadline::After(clock_, 5'000'000)).ok());
  EXPECT_LT(clock_->MonotonicMicros() - t0, 600'000 + 500'000);
  EXPECT_GT(b->epoch(), epoch);
  EXPECT_FALSE(a->IsHeld());
}

TEST_F(LeaseTest, IsHeldTurnsFalseBeforeTheServerExpiryWhenRenewalsHang) {
  auto bouncer = env_->StartPgBouncer();
  ASSERT_TRUE(bouncer.ok()) << bouncer.status().ToString();
  LeaseOptions o = Options("a", 3'000'000);  // held 2.4 s from each renewal sent
  o.renew_every_micros = 1'000'000;
  o.retry_micros = 200'000;
  struct Change {
    int64_t epoch;
    std::string why;
    int64_t at;
  };
  std::vector<Change> changes;
  std::mutex changes_mu;
  o.on_change = [&](int64_t e, const std::string& why) {
    std::lock_guard<std::mutex> lock(changes_mu);
    changes.push_back({e, why, clock_->MonotonicMicros()});
  };
  Lease a(clock_, &log_, (*bouncer)->UrlFor(host_.role, host_.password, db_.name), o);
  ASSERT_TRUE(a.AcquireAndKeep(Deadline::After(clock_, 10'000'000)).ok());
  SleepMicros(1'500'000);  // a renewal or two through pgbouncer
  ASSERT_TRUE(a.IsHeld());
  const int64_t epoch = a.epoch();
  const int64_t held_until = a.held_until_micros();
  ASSERT_TRUE((*bouncer)->Pause().ok());
  const int64_t paused_at = clock_->MonotonicMicros();
  while (a.IsHeld() && clock_->MonotonicMicros() - paused_at < 10'000'000) SleepMicros(5'000);
  const int64_t stepped_down = clock_->MonotonicMicros();
  EXPECT_FALSE(a.IsHeld());
  // The hold ended exactly when the last confirmed renewal ran out (no later confirmation
  // was possible), and the server still counted the lease as ours.
  EXPECT_LE(stepped_down - paused_at, 2'400'000 + 50'000);
  EXPECT_GE(stepped_down, held_until);
  EXPECT_EQ(Row("lease_expires_at > now()"), "true");
  EXPECT_EQ(Row("leader_id"), a.node_id());
  ASSERT_TRUE((*bouncer)->Resume().ok());
  // Reconnected, it leads again (it is the only candidate).
  const int64_t resumed = clock_->MonotonicMicros();
  while (!a.IsHeld() && clock_->MonotonicMicros() - resumed < 15'000'000) SleepMicros(20'000);
  EXPECT_TRUE(a.IsHeld());
  EXPECT_GE(a.epoch(), epoch);
  a.Stop();
  std::lock_guard<std::mutex> lock(changes_mu);
  ASSERT_GE(changes.size(), 3u);
  EXPECT_EQ(changes[0].epoch, epoch);
  EXPECT_EQ(changes[1].epoch, 0);
  EXPECT_NE(changes[1].why.find("own clock"), std::string::npos) << changes[1].why;
  // The stuck renewal was cut at the end of the hold: the step-down was reported within the
  // cancel grace (margin / 2) plus a poll, not when PostgreSQL came back.
  EXPECT_LE(changes[1].at - stepped_down, 300'000 + 150'000);
  EXPECT_GT(changes[2].epoch, 0);
  EXPECT_TRUE(log_.Contains("stepped down from epoch " + std::to_string(epoch)));
}

TEST_F(LeaseTest, OnlyOneOfManyNodesWinsAMissingRow) {
  constexpr int kNodes = 4;
  std::vector<std::unique_ptr<Lease>> leases;
  for (int i = 0; i < kNodes; ++i) leases.push_back(NewLease("n" + std::to_string(i), 60'000'000));
  int64_t last_epoch = 0;
  for (int round = 0; round < 15; ++round) {
    ASSERT_TRUE(
        admin_
            ->ExecParams("DELETE FROM sync_metadata.leader_election WHERE cluster_name = $1",
                         {host_.cluster}, Deadline::After(clock_, 10'000'000))
            .ok());
    for (auto& l : leases) {  // forget the last round's grant
      ASSERT_TRUE(l->Release().ok());
    }
    std::atomic<int> ready{0}, winners{0}, errors{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kNodes; ++i) {
      threads.emplace_back([&, i] {
        ready.fetch_add(1);
        while (ready.load() < kNodes) std::this_thread::yield();
        auto r = leases[i]->TryAcquireOrRenew();
        if (!r.ok()) errors.fetch_add(1);
        if (r.ok() && *r) winners.fetch_add(1);
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(winners.load(), 1) << "round " << round;
    const int64_t epoch = std::stoll(Row("epoch"));
    EXPECT_GT(epoch, last_epoch);
    last_epoch = epoch;
  }
}

TEST_F(LeaseTest, RacingNodesNeverHoldAtTheSameTime) {
  constexpr int kNodes = 4;
  constexpr int64_t kLease = 150'000;
  std::vector<std::unique_ptr<Lease>> leases;
  for (int i = 0; i < kNodes; ++i) leases.push_back(NewLease("n" + std::to_string(i), kLease));
  struct Grant {
    int node;
    LeaseObservation seen;
  };
  std::mutex mu;
  std::vector<Grant> grants;
  std::atomic<bool> done{false};
  std::atomic<int> errors{0}, timeouts{0}, overlaps{0}, samples{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      std::mt19937 rng(1234 + i);
      int renewals_left = 0;
      while (!done.load()) {
        auto r = leases[i]->TryAcquireOrRenew();
        if (!r.ok()) {
          // A renewal may run out of hold time on a loaded machine (deadline: Unavailable,
          // retryable); anything else is a bug.
          if (r.status().code() == StatusCode::kUnavailable) {
            timeouts.fetch_add(1);
          } else {
            errors.fetch_add(1);
            ADD_FAILURE() << r.status().ToString();
          }
        } else if (*r) {
          {
            std::lock_guard<std::mutex> lock(mu);
            grants.push_back({i, leases[i]->last_observed()});
          }
          if (renewals_left-- <= 0) {  // let it lapse: stop renewing past the lease
            renewals_left = static_cast<int>(rng() % 20);
            clock_->SleepForMicros(kLease + 20'000);
          }
        }
        clock_->SleepForMicros(static_cast<int64_t>(rng() % 3000));
      }
    });
  }
  std::thread sampler([&] {
    while (!done.load()) {
      int held = 0;
      for (auto& l : leases) held += l->IsHeld() ? 1 : 0;
      if (held > 1) overlaps.fetch_add(1);
      samples.fetch_add(1);
      std::this_thread::yield();
    }
  });
  SleepMicros(4'000'000);
  done.store(true);
  for (auto& t : threads) t.join();
  sampler.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_LT(timeouts.load(), 20) << "renewals that ran out of time";
  EXPECT_EQ(overlaps.load(), 0) << "of " << samples.load() << " samples";
  // In server time: a grant to another node starts only after the previous grant expired,
  // every epoch belongs to one node, and epochs only grow.
  std::sort(grants.begin(), grants.end(), [](const Grant& x, const Grant& y) {
    return x.seen.server_now_micros < y.seen.server_now_micros;
  });
  std::map<int64_t, int> owner;
  int handovers = 0;
  for (size_t i = 0; i < grants.size(); ++i) {
    const Grant& g = grants[i];
    auto [it, inserted] = owner.emplace(g.seen.epoch, g.node);
    EXPECT_EQ(it->second, g.node) << "epoch " << g.seen.epoch << " granted to two nodes";
    if (i == 0) continue;
    const Grant& p = grants[i - 1];
    EXPECT_GE(g.seen.epoch, p.seen.epoch);
    if (g.seen.epoch != p.seen.epoch) {
      EXPECT_GE(g.seen.server_now_micros, p.seen.expires_at_micros)
          << "epoch " << g.seen.epoch << " granted before epoch " << p.seen.epoch << " expired";
      if (g.node != p.node) ++handovers;
    }
  }
  EXPECT_GE(handovers, 5) << grants.size() << " grants";
}

TEST_F(LeaseTest, AnotherClustersLeaseIsRefused) {
  LeaseOptions o = Options("a", 10'000'000);
  o.cluster = host_.cluster + "_other";
  Lease a(clock_, &log_, host_.url, o);
  auto r = a.TryAcquireOrRenew();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(SqlStateOf(r.status()), "42501") << r.status().ToString();
  EXPECT_FALSE(a.IsHeld());
}

TEST_F(LeaseTest, ImpossibleTimingsAreInvalidArguments) {
  LeaseOptions o = Options("a", 10'000'000);
  EXPECT_TRUE(Lease::Validate(o).ok());
  o.safety_margin_micros = 10'000'000;
  EXPECT_EQ(Lease::Validate(o).code(), StatusCode::kInvalidArgument);
  o.safety_margin_micros = 1'000'000;
  EXPECT_EQ(Lease::Validate(o).code(), StatusCode::kInvalidArgument) << "below lease / 5";
  o.safety_margin_micros = 2'000'000;
  o.renew_every_micros = 8'000'000;
  EXPECT_EQ(Lease::Validate(o).code(), StatusCode::kInvalidArgument);
  o.renew_every_micros = 0;
  o.node_id = std::string(101, 'x');
  EXPECT_EQ(Lease::Validate(o).code(), StatusCode::kInvalidArgument);
  Lease bad(clock_, &log_, host_.url, o);
  EXPECT_EQ(bad.TryAcquireOrRenew().status().code(), StatusCode::kInvalidArgument);
  EXPECT_LE(Lease::MakeNodeId(std::string(300, 'h'), "primary").size(), 100u);
  EXPECT_NE(Lease::MakeNodeId("h", "primary"), Lease::MakeNodeId("h", "primary"));
}

}  // namespace
}  // namespace owsync::shipper
