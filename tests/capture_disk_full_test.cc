// The outbox's disk fails under a running capture — it fills up, writes fail, fsync fails, a
// write is torn — while the application keeps writing. Capture must stop draining and say why
// in its log, never delete changelog rows the outbox does not hold durably, leave the
// application unaffected (its writes keep succeeding), and lose nothing once the disk is
// healthy again: the outbox applied to an empty copy equals the database.
#include <gtest/gtest.h>

#include "tests/in_process_capture.h"

namespace owsync::testing {
namespace {

enum class Fault { kDiskFull, kFailedWrite, kFailedSync, kTornWrite };

struct FaultCase {
  const char* schema;
  const char* journal;
  Fault fault;
};

const char* FaultName(Fault f) {
  switch (f) {
    case Fault::kDiskFull:
      return "disk_full";
    case Fault::kFailedWrite:
      return "failed_write";
    case Fault::kFailedSync:
      return "failed_sync";
    case Fault::kTornWrite:
      return "torn_write";
  }
  return "?";
}

void PrintTo(const FaultCase& c, std::ostream* os) {
  *os << c.schema << "/" << c.journal << "/" << FaultName(c.fault);
}

class CaptureDiskFaultTest : public ::testing::TestWithParam<FaultCase> {};

TEST_P(CaptureDiskFaultTest, CaptureStopsDrainingSaysWhyAndLosesNothing) {
  const FaultCase& c = GetParam();
  auto created = InProcessCapture::Create(c.schema, c.journal, 31, 300);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  InProcessCapture& t = **created;
  ASSERT_TRUE(t.StartCapture().ok());
  ASSERT_TRUE(t.StepUntilIdle().ok());
  auto drained = t.ChangelogRows();
  ASSERT_TRUE(drained.ok());
  ASSERT_EQ(*drained, 0);

  switch (c.fault) {
    case Fault::kDiskFull:
      t.fault_fs()->SetFreeBytes(0);
      break;
    case Fault::kFailedWrite:
      t.fault_fs()->FailWriteAfter(0);
      break;
    case Fault::kFailedSync:
      t.fault_fs()->FailSyncAfter(0);
      break;
    case Fault::kTornWrite:
      t.fault_fs()->TearNextWrite(7);
      break;
  }
  // The application writes on; capture keeps trying (and backing off) meanwhile.
  for (int round = 0; round < 5; ++round) {
    Status written = t.Write(40);
    ASSERT_TRUE(written.ok()) << "the application was affected: " << written.ToString();
    Status stepped = t.StepUntilIdle();
    ASSERT_TRUE(stepped.ok()) << stepped.ToString();
    t.PassBackoff();
  }
  ASSERT_GT(t.loop()->counters().writer_failures, 0u);
  const Status& why = t.loop()->last_writer_error();
  if (c.fault != Fault::kTornWrite) {  // a one-shot tear heals on the retry
    EXPECT_FALSE(why.ok());
  }
  if (c.fault == Fault::kDiskFull) {
    EXPECT_TRUE(why.IsNoSpace()) << why.ToString();
    EXPECT_TRUE(t.logger()->Contains("NoSpace")) << "the log does not say the disk is full";
  }
  EXPECT_TRUE(t.logger()->Contains("draining paused"));
  auto waiting = t.ChangelogRows();
  ASSERT_TRUE(waiting.ok());
  if (c.fault != Fault::kTornWrite) {  // a one-shot tear heals on the retry
    EXPECT_GT(*waiting, 0) << "changelog rows deleted although the outbox could not hold them";
  }

  t.fault_fs()->ClearFaults();
  t.PassBackoff();
  ASSERT_TRUE(t.Write(30).ok());
  Status healed = t.StepUntilIdle();
  ASSERT_TRUE(healed.ok()) << healed.ToString();
  ASSERT_TRUE(t.loop()->writer_ok()) << t.loop()->last_writer_error().ToString();
  auto rest = t.ChangelogRows();
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(*rest, 0);

  auto first = t.Verify(/*tolerate_victims=*/false);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->equal()) << first->Summary() << "\ndirectory " << t.dir();
  EXPECT_GT(first->rows_compared, 100);

  ASSERT_TRUE(t.loop()->RequestSnapshot("").ok());
  ASSERT_TRUE(t.loop()->RunUntilCaughtUp().ok());
  auto exact = t.Verify(/*tolerate_victims=*/false);
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  EXPECT_TRUE(exact->equal()) << exact->Summary();
}

std::vector<FaultCase> AllCases() {
  std::vector<FaultCase> out;
  for (Fault f : {Fault::kDiskFull, Fault::kFailedWrite, Fault::kFailedSync, Fault::kTornWrite}) {
    out.push_back({"v0.6.31", "delete", f});
    out.push_back({"v0.11.0", "wal", f});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Faults, CaptureDiskFaultTest, ::testing::ValuesIn(AllCases()),
                         [](const ::testing::TestParamInfo<FaultCase>& p) {
                           std::string name = std::string(p.param.schema) + "_" + p.param.journal +
                                              "_" + FaultName(p.param.fault);
                           for (char& ch : name) {
                             if (ch == '.') ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace owsync::testing
