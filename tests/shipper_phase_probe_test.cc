#include "tests/shipper_phase_probe.h"

#include <gtest/gtest.h>

namespace owsync::tests {
namespace {

ShipperPhase C(const std::string& state, const std::string& query) {
  return ShipperPhaseProbe::Classify(state, query);
}

TEST(ShipperPhaseProbeTest, ClassifiesTheBatchTransactionByStateAndLastStatement) {
  EXPECT_EQ(C("idle", "COMMIT"), ShipperPhase::kIdle);
  EXPECT_EQ(C("active", "COPY \"c\".\"chat\" (\"id\") FROM STDIN"), ShipperPhase::kMidCopy);
  EXPECT_EQ(C("active", "WITH up AS (INSERT INTO \"c\".\"chat\""), ShipperPhase::kOtherStatement);
  EXPECT_EQ(C("idle in transaction", "BEGIN; SET LOCAL owsync.applying = 'on'"),
            ShipperPhase::kBeforeCopy);
  EXPECT_EQ(C("idle in transaction", "UPDATE sync_metadata.tenant_offsets o SET acked_epoch = $2"),
            ShipperPhase::kBeforeCopy);
  EXPECT_EQ(C("idle in transaction", "INSERT INTO \"c\"._owsync_tables (table_name, columns"),
            ShipperPhase::kBeforeCopy);
  EXPECT_EQ(C("idle in transaction", "COPY pg_temp._owsync_stage_1 (\"id\") FROM STDIN"),
            ShipperPhase::kAfterCopy);
  EXPECT_EQ(C("idle in transaction", "WITH up AS (INSERT INTO \"c\".\"chat\" AS t"),
            ShipperPhase::kAfterCopy);
  EXPECT_EQ(C("idle in transaction (aborted)", "COPY \"c\".\"chat\" (\"id\") FROM STDIN"),
            ShipperPhase::kAfterCopy);
  EXPECT_EQ(C("idle in transaction", "UPDATE sync_metadata.tenant_offsets SET acked_offset = $2"),
            ShipperPhase::kAckedNotCommitted);
}

TEST(ShipperPhaseProbeTest, TargetsMatchTheirPhases) {
  EXPECT_TRUE(PhaseMatches(KillTarget::kMidCopy, ShipperPhase::kMidCopy));
  EXPECT_FALSE(PhaseMatches(KillTarget::kMidCopy, ShipperPhase::kAfterCopy));
  EXPECT_TRUE(PhaseMatches(KillTarget::kBeforeCommit, ShipperPhase::kAfterCopy));
  EXPECT_TRUE(PhaseMatches(KillTarget::kBeforeCommit, ShipperPhase::kAckedNotCommitted));
  EXPECT_FALSE(PhaseMatches(KillTarget::kBeforeCommit, ShipperPhase::kBeforeCopy));
  EXPECT_FALSE(PhaseMatches(KillTarget::kBeforeCommit, ShipperPhase::kIdle));
  EXPECT_TRUE(PhaseMatches(KillTarget::kAnytime, ShipperPhase::kNoSession));
}

}  // namespace
}  // namespace owsync::tests
