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
