#include "capture/generation_guard.h"

#include <gtest/gtest.h>

#include <set>

namespace owsync::capture {
namespace {

IdentityFacts Matching() {
  IdentityFacts f;
  f.meta_generation = "g1";
  f.meta_outbox_id = "o1";
  f.outbox_generation = "g1";
  f.outbox_id = "o1";
  f.changelog_counter = 100;
  f.outbox_high_water = 100;
  return f;
}

TEST(GenerationGuardTest, MatchingIdsAndCounterResume) {
  EXPECT_EQ(GenerationGuard::Decide(Matching()).verdict, IdentityVerdict::kResume);
  IdentityFacts f = Matching();
  f.outbox_high_water = 0;  // unknown
  EXPECT_EQ(GenerationGuard::Decide(f).verdict, IdentityVerdict::kResume);
}

TEST(GenerationGuardTest, UncapturedDatabaseAdoptsOnlyAnEmptyOutbox) {
  IdentityFacts f = Matching();
  f.meta_generation.reset();
  f.meta_outbox_id.reset();
  f.outbox_empty = true;
  EXPECT_EQ(GenerationGuard::Decide(f).verdict, IdentityVerdict::kAdopt);
  f.outbox_empty = false;
  EXPECT_EQ(GenerationGuard::Decide(f).verdict, IdentityVerdict::kNewGeneration);
}

TEST(GenerationGuardTest, MismatchedIdsStartANewGeneration) {
  IdentityFacts f = Matching();
  f.meta_generation = "g0";
  auto d = GenerationGuard::Decide(f);
  EXPECT_EQ(d.verdict, IdentityVerdict::kNewGeneration);
  EXPECT_NE(d.reason.find("g0"), std::string::npos);
  f = Matching();
  f.meta_outbox_id = "o0";
  EXPECT_EQ(GenerationGuard::Decide(f).verdict, IdentityVerdict::kNewGeneration);
  f.outbox_empty = true;  // a recreated outbox is still another outbox
  EXPECT_EQ(GenerationGuard::Decide(f).verdict, IdentityVerdict::kNewGeneration);
}

TEST(GenerationGuardTest, CounterBehindTheOutboxMeansARestoredDatabase) {
  IdentityFacts f = Matching();
  f.changelog_counter = 99;
  auto d = GenerationGuard::Decide(f);
  EXPECT_EQ(d.verdict, IdentityVerdict::kNewGeneration);
  EXPECT_NE(d.reason.find("restored"), std::string::npos);
  f.changelog_counter = 1000;  // ahead is normal (changes not drained yet)
  EXPECT_EQ(GenerationGuard::Decide(f).verdict, IdentityVerdict::kResume);
}

IdentityFacts WithTokens(const char* meta_token, const char* meta_prev, const char* outbox) {
  IdentityFacts f = Matching();
  f.meta_token = meta_token;
  f.meta_prev_token = meta_prev;
  f.outbox_token = outbox;
  return f;
}

TEST(GenerationGuardTest, DrainTokenDecisionTable) {
  struct Row {
    const char* x;  // database drain_token
    const char* p;  // database prev_drain_token
    const char* y;  // token of the outbox's last durable record ("" = none)
    IdentityVerdict want;
  };
  const Row table[] = {
      {"t2", "t1", "t2", IdentityVerdict::kResume},         // X == Y: the last read is durable
      {"t2", "t1", "t1", IdentityVerdict::kResume},         // P == Y: crash before it was
      {"t2", "t1", "t9", IdentityVerdict::kNewGeneration},  // another point of the history
      {"t1", "t0", "t2", IdentityVerdict::kNewGeneration},  // an older backup
      {"t2", "", "t1", IdentityVerdict::kNewGeneration},
      {"t2", "t1", "", IdentityVerdict::kResume},  // an outbox without tokens: the old rules
  };
  for (const Row& row : table) {
    auto d = GenerationGuard::Decide(WithTokens(row.x, row.p, row.y));
    EXPECT_EQ(d.verdict, row.want) << row.x << " " << row.p << " " << row.y << ": " << d.reason;
  }
  // A database without tokens (from before them, or never drained) against an outbox with one.
  IdentityFacts f = Matching();
  f.outbox_token = "t1";
  auto d = GenerationGuard::Decide(f);
  EXPECT_EQ(d.verdict, IdentityVerdict::kNewGeneration);
  EXPECT_NE(d.reason.find("restored"), std::string::npos) << d.reason;
}

TEST(GenerationGuardTest, TokenMismatchIsCaughtEvenWhenTheCounterMovedPastTheHighWater) {
  // A backup restored while capture was stopped, then written to: the counter is ahead again.
  IdentityFacts f = WithTokens("old", "older", "new");
  f.changelog_counter = 500;
  f.outbox_high_water = 100;
  EXPECT_EQ(GenerationGuard::Decide(f).verdict, IdentityVerdict::kNewGeneration);
}

TEST(GenerationGuardTest, MatchingTokensStillApplyTheCounterAndIdRules) {
  IdentityFacts f = WithTokens("t2", "t1", "t2");
  f.changelog_counter = 99;
  EXPECT_EQ(GenerationGuard::Decide(f).verdict, IdentityVerdict::kNewGeneration);
  f = WithTokens("t2", "t1", "t2");
  f.meta_generation = "g0";
  EXPECT_EQ(GenerationGuard::Decide(f).verdict, IdentityVerdict::kNewGeneration);
}

TEST(GenerationGuardTest, NewIdsAreRandomHex) {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    std::string id = GenerationGuard::NewId();
    EXPECT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 100u);
}

}  // namespace
}  // namespace owsync::capture
