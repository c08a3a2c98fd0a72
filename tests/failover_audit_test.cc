#include "tests/failover_audit.h"

#include <gtest/gtest.h>

namespace owsync::tests {
namespace {

OffsetLogRow Row(int64_t seq, int64_t old_epoch, int64_t epoch, int64_t old_acked,
                 int64_t new_acked, int64_t at) {
  OffsetLogRow r;
  r.seq = seq;
  r.client = "acme";
  r.old_epoch = old_epoch;
  r.epoch = epoch;
  r.old_acked = old_acked;
  r.new_acked = new_acked;
  r.at_micros = at;
  r.application_name = "owsync ship acme";
  return r;
}

LeaseLogRow Lease(int64_t seq, int64_t epoch, int64_t expires) {
  LeaseLogRow l;
  l.seq = seq;
  l.cluster = "c";
  l.epoch = epoch;
  l.expires_micros = expires;
  return l;
}

TEST(FailoverAuditTest, ClaimsAndBatchesOfRisingEpochsPass) {
  std::vector<OffsetLogRow> rows = {Row(1, 0, 5, 0, 0, 10), Row(2, 5, 5, 0, 40, 20),
                                    Row(3, 5, 9, 40, 40, 30), Row(4, 9, 9, 40, 90, 40)};
  EXPECT_TRUE(FailoverAudit::CheckOffsetLog(rows).empty());
  EXPECT_TRUE(
      FailoverAudit::CheckCommitsWithinLease(rows, {Lease(1, 5, 25), Lease(2, 9, 100)}).empty());
  auto first = FailoverAudit::FirstAbove(rows, 5);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->seq, 3);
  EXPECT_EQ(FailoverAudit::FirstAbove(rows, 5, /*batch_only=*/true)->seq, 4);
  EXPECT_FALSE(FailoverAudit::FirstAbove(rows, 9).has_value());
}

TEST(FailoverAuditTest, OlderEpochAfterNewerLowerOffsetAndGapsAreViolations) {
  // A deposed leader (epoch 5) commits after epoch 9 claimed the tenant.
  EXPECT_EQ(FailoverAudit::CheckOffsetLog({Row(1, 0, 9, 0, 0, 1), Row(2, 9, 5, 0, 10, 2)}).size(),
            2u);  // epoch lowered within the row, and after seq 1
  // The acked offset goes back.
  EXPECT_FALSE(FailoverAudit::CheckOffsetLog({Row(1, 5, 5, 50, 40, 1)}).empty());
  // A committed update is missing between two rows.
  EXPECT_FALSE(
      FailoverAudit::CheckOffsetLog({Row(1, 5, 5, 0, 40, 1), Row(2, 5, 5, 60, 70, 2)}).empty());
}

TEST(FailoverAuditTest, CommitAfterTheLeaseEndedOrWithoutALeaseIsAViolation) {
  std::vector<OffsetLogRow> rows = {Row(1, 0, 5, 0, 10, 30)};
  // The last lease row of epoch 5 (a later renewal would have extended it) ended at 25.
  auto late = FailoverAudit::CheckCommitsWithinLease(rows, {Lease(1, 5, 50), Lease(2, 5, 25)});
  ASSERT_EQ(late.size(), 1u);
  EXPECT_NE(late[0].find("after its lease ended"), std::string::npos) << late[0];
  EXPECT_EQ(FailoverAudit::CheckCommitsWithinLease(rows, {Lease(1, 7, 50)}).size(), 1u);
}

TEST(FailoverAuditTest, PidOfNodeIdIsTheThirdField) {
  EXPECT_EQ(FailoverAudit::PidOfNodeId("host-a:secondary:4242:00ff00ff00ff00ff"), 4242);
  EXPECT_EQ(FailoverAudit::PidOfNodeId("host:primary:12"), 12);
  EXPECT_EQ(FailoverAudit::PidOfNodeId("host:primary"), -1);
  EXPECT_EQ(FailoverAudit::PidOfNodeId("host:primary:x1:ab"), -1);
  EXPECT_EQ(FailoverAudit::PidOfNodeId(""), -1);
}

}  // namespace
}  // namespace owsync::tests
