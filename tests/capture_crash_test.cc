// Capture survives SIGKILL at random moments: an application process writes random
// transactions (inserts, updates, upserts, key changes, INSERT OR REPLACE also through
// secondary UNIQUE constraints, deletes, odd values) over many tables of an Open WebUI database
// while `owsync capture` runs and is killed with SIGKILL after random (seeded) delays and
// restarted. Then the writer stops, `owsync capture --once` drains the rest, and the outbox
// applied to an empty copy equals the database row for row; after `--once --resnapshot` it
// equals it exactly (the snapshot also catches rows INSERT OR REPLACE deleted without a trigger).
//
// Both fixtures x both journal modes. Kills per scenario: 4 by default (CI); `--kills N` or
// OWSYNC_KILLS=N for more (scripts/soak.sh runs 50); `--seed S` / OWSYNC_CHAOS_SEED=S.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "cli/workload_random.h"
#include "tests/capture_scenario.h"
#include "tests/chaos_flags.h"

namespace owsync::testing {
namespace {

struct CrashCase {
  const char* schema;
  const char* journal;
};

void PrintTo(const CrashCase& c, std::ostream* os) { *os << c.schema << "/" << c.journal; }

class CaptureCrashTest : public ::testing::TestWithParam<CrashCase> {};

TEST_P(CaptureCrashTest, KilledCaptureLosesNothing) {
  const CrashCase& c = GetParam();
  const uint64_t seed =
      ChaosSeed() * 10 + static_cast<uint64_t>((std::strcmp(c.schema, "v0.6.31") == 0 ? 0 : 2) +
                                               (std::strcmp(c.journal, "wal") == 0 ? 1 : 0));
  ScenarioOptions options;
  options.owsync_binary = OWSYNC_BINARY_PATH;
  options.schema = c.schema;
  options.journal = c.journal;
  options.seed = seed;
  auto created = CaptureScenario::Create(options);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  CaptureScenario& s = **created;
  SCOPED_TRACE("seed " + std::to_string(seed) + ", directory " + s.dir());

  ASSERT_TRUE(s.InitDatabase().ok());
  ASSERT_TRUE(s.StartCapture().ok());
  ASSERT_TRUE(s.StartWriter().ok());
  cli::WorkloadRandom rng(seed);
  const int kills = ChaosKills();
  for (int k = 0; k < kills; ++k) {
    // The application writes slower in DELETE mode (see ScenarioOptions): longer stretches.
    s.Sleep(rng.Range(20'000, std::strcmp(c.journal, "wal") == 0 ? 700'000 : 1'500'000));
    Status alive = s.KillCapture();
    ASSERT_TRUE(alive.ok()) << "before kill " << k << ": " << alive.ToString()
                            << s.KeepForInspection();
    if (rng.Chance(0.5)) s.Sleep(rng.Range(0, 300'000));  // the application writes on alone
    ASSERT_TRUE(s.StartCapture().ok());
  }
  s.Sleep(200'000);
  auto writer = s.StopWriter();
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  std::printf("[ %s/%s ] %d kills; %s\n", c.schema, c.journal, kills, writer->c_str());
  ASSERT_TRUE(s.KillCapture().ok()) << s.KeepForInspection();

  Status once = s.CaptureOnce();
  ASSERT_TRUE(once.ok()) << once.ToString() << s.KeepForInspection();
  auto pending = s.ChangelogRows();
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(*pending, 0) << "capture --once left changelog rows";
  // Crashes are not restores: the outbox keeps its identity.
  EXPECT_FALSE(s.fs()->FileExists(s.outbox_dir() + "/retired")) << s.LogTail("capture.log");

  auto first = s.Verify("copy.db", /*tolerate_victims=*/false);
  ASSERT_TRUE(first.ok()) << first.status().ToString() << s.KeepForInspection();
  std::printf("[ %s/%s ] after drain: %s; applied %s\n", c.schema, c.journal,
              first->Summary().c_str(), s.applier()->stats().ToString().c_str());
  EXPECT_TRUE(first->equal()) << first->Summary() << "\n" << s.KeepForInspection();
  EXPECT_GT(first->rows_compared, 50);

  Status resnap = s.CaptureOnce({"--resnapshot"});
  ASSERT_TRUE(resnap.ok()) << resnap.ToString() << s.KeepForInspection();
  auto exact = s.ApplyMore(/*tolerate_victims=*/false);
  ASSERT_TRUE(exact.ok()) << exact.status().ToString() << s.KeepForInspection();
  EXPECT_TRUE(exact->equal()) << exact->Summary() << "\n" << s.KeepForInspection();
}

INSTANTIATE_TEST_SUITE_P(FixturesAndJournals, CaptureCrashTest,
                         ::testing::Values(CrashCase{"v0.6.31", "delete"},
                                           CrashCase{"v0.6.31", "wal"},
                                           CrashCase{"v0.11.0", "delete"},
                                           CrashCase{"v0.11.0", "wal"}),
                         [](const ::testing::TestParamInfo<CrashCase>& p) {
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
