// Power loss under a running capture: at random points (seeded) between capture steps and
// application writes, every byte of the outbox not yet fsynced is dropped
// (FaultInjectionFileSystem::DropUnsyncedData: files cut to their synced length, unsynced
// directory entries undone), the capture process dies, and a new one starts on what is left.
// The database itself is durable (synchronous commits). At the end the outbox applied to an
// empty copy equals the database: every change whose changelog row capture deleted was durable
// in the outbox. `--kills N` / OWSYNC_KILLS sets the number of power losses per case.
#include <gtest/gtest.h>

#include <algorithm>

#include "cli/workload_random.h"
#include "tests/chaos_flags.h"
#include "tests/in_process_capture.h"

namespace owsync::testing {
namespace {

struct PowerCase {
  const char* schema;
  const char* journal;
};

void PrintTo(const PowerCase& c, std::ostream* os) { *os << c.schema << "/" << c.journal; }

// Bytes in the outbox directory's files (not counting retired/), as the faulty disk has them.
Result<uint64_t> OutboxBytes(InProcessCapture* t) {
  OWSYNC_ASSIGN_OR_RETURN(std::vector<std::string> names,
                          t->fault_fs()->GetChildren(t->outbox_dir()));
  uint64_t total = 0;
  for (const std::string& name : names) {
    auto size = t->fault_fs()->GetFileSize(JoinPath(t->outbox_dir(), name));
    if (size.ok()) total += *size;  // directories (retired/) have no size here
  }
  return total;
}

class CapturePowerLossTest : public ::testing::TestWithParam<PowerCase> {};

TEST_P(CapturePowerLossTest, UnsyncedOutboxDataDroppedAtRandomPointsLosesNothing) {
  const PowerCase& c = GetParam();
  const uint64_t seed = ChaosSeed() * 100 + (std::string(c.schema) == "v0.6.31" ? 1 : 2) +
                        (std::string(c.journal) == "wal" ? 10 : 0);
  SCOPED_TRACE("seed " + std::to_string(seed));
  auto created = InProcessCapture::Create(c.schema, c.journal, seed, 150);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  InProcessCapture& t = **created;
  cli::WorkloadRandom rng(seed);
  ASSERT_TRUE(t.StartCapture().ok());

  const int losses = std::max(ChaosKills(), 1);
  int losses_that_dropped_bytes = 0;
  for (int k = 0; k < losses; ++k) {
    // Some application writes and some capture steps, interleaved, up to the random point.
    int64_t rounds = rng.Range(1, 6);
    for (int64_t r = 0; r < rounds; ++r) {
      ASSERT_TRUE(t.Write(rng.Range(1, 60)).ok());
      int64_t steps = rng.Range(0, 6);
      for (int64_t i = 0; i < steps; ++i) {
        auto more = t.loop()->Step();
        ASSERT_TRUE(more.ok()) << more.status().ToString();
      }
    }
    auto before = OutboxBytes(&t);
    ASSERT_TRUE(before.ok()) << before.status().ToString();
    Status dropped = t.fault_fs()->DropUnsyncedData();
    ASSERT_TRUE(dropped.ok()) << dropped.ToString();
    auto after = OutboxBytes(&t);
    ASSERT_TRUE(after.ok()) << after.status().ToString();
    if (*after < *before) ++losses_that_dropped_bytes;
    t.CrashCapture();
    ASSERT_TRUE(t.Write(rng.Range(0, 30)).ok());  // while capture is down
    Status restarted = t.StartCapture();
    ASSERT_TRUE(restarted.ok()) << "after power loss " << k << ": " << restarted.ToString()
                                << "\ndirectory " << t.dir();
  }
  // The random points must sometimes fall between a write and its fsync, or nothing was tested.
  if (losses >= 4) {
    EXPECT_GT(losses_that_dropped_bytes, 0);
  }
  std::printf("[ %s/%s ] %d of %d power losses cut unsynced outbox bytes\n", c.schema, c.journal,
              losses_that_dropped_bytes, losses);
  ASSERT_TRUE(t.Write(50).ok());
  Status caught_up = t.loop()->RunUntilCaughtUp();
  ASSERT_TRUE(caught_up.ok()) << caught_up.ToString();
  auto rest = t.ChangelogRows();
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(*rest, 0);
  // A power loss is not a restore: one generation throughout.
  EXPECT_EQ(t.loop()->counters().generations_started, 0u);

  auto first = t.Verify(/*tolerate_victims=*/false);
  ASSERT_TRUE(first.ok()) << first.status().ToString() << "\ndirectory " << t.dir();
  std::printf("[ %s/%s ] %d power losses: %s; applied %s\n", c.schema, c.journal, losses,
              first->Summary().c_str(), t.applier()->stats().ToString().c_str());
  EXPECT_TRUE(first->equal()) << first->Summary() << "\ndirectory " << t.dir();

  ASSERT_TRUE(t.loop()->RequestSnapshot("").ok());
  ASSERT_TRUE(t.loop()->RunUntilCaughtUp().ok());
  auto exact = t.Verify(/*tolerate_victims=*/false);
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  EXPECT_TRUE(exact->equal()) << exact->Summary();
}

INSTANTIATE_TEST_SUITE_P(FixturesAndJournals, CapturePowerLossTest,
                         ::testing::Values(PowerCase{"v0.6.31", "delete"},
                                           PowerCase{"v0.6.31", "wal"},
                                           PowerCase{"v0.11.0", "delete"},
                                           PowerCase{"v0.11.0", "wal"}),
                         [](const ::testing::TestParamInfo<PowerCase>& p) {
                           std::string name = std::string(p.param.schema) + "_" + p.param.journal;
                           for (char& ch : name) {
                             if (ch == '.') ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace owsync::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  owsync::testing::ParseChaosFlags(argc, argv);
  return RUN_ALL_TESTS();
}
