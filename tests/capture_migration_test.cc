// Capture follows an Open WebUI upgrade on a live database: upgrade-rebuilds.sql (tables
// rebuilt, renamed, columns added, a table created) runs against a v0.6.31 database while
// `owsync capture` runs and the application keeps writing (after the migration it writes the
// new shapes). Right after the rebuild — before capture can have re-installed its triggers —
// rows of the rebuilt tables are deleted and changed. Afterwards the outbox applied to an empty
// copy equals the database row for row, and exactly after a re-snapshot.
#include <gtest/gtest.h>

#include "cli/sqlite_handle.h"
#include "cli/workload_generator.h"
#include "cli/workload_random.h"
#include "tests/capture_scenario.h"

namespace owsync::testing {
namespace {

class CaptureMigrationTest : public ::testing::TestWithParam<const char*> {};

// Runs the upgrade script on its own connection, retrying it whole if the database is busy
// beyond the busy timeout. Then, on the same connection and at once, deletes and changes rows
// of the rebuilt tables. Returns how many triggers the rebuilt tables had at that moment.
Result<int64_t> MigrateAndTouchRebuiltTables(const std::string& db_path) {
  OWSYNC_ASSIGN_OR_RETURN(std::string sql, cli::WorkloadGenerator::FixtureSql("upgrade-rebuilds"));
  // The upgrade reads the newest config row as a JSON object; the workload's odd values may
  // have put something else there (the application never would): repair that row in the
  // migration's own transaction.
  const std::string begin = "BEGIN;\n";
  size_t at = sql.find(begin);
  if (at == std::string::npos) return Status::Internal("upgrade-rebuilds.sql has no BEGIN");
  sql.replace(at, begin.size(),
              "BEGIN IMMEDIATE;\nUPDATE config SET data = '{\"repaired\": true}' WHERE id = "
              "(SELECT max(id) FROM config) AND coalesce(CASE WHEN json_valid(data) THEN "
              "json_type(data) END, '') != 'object';\n");
  OWSYNC_ASSIGN_OR_RETURN(cli::SqliteDb db, cli::OpenSqlite(db_path, false, 5000));
  Status migrated;
  for (int attempt = 0; attempt < 20; ++attempt) {
    migrated = cli::ExecSqlite(db.get(), sql);
    if (migrated.ok()) break;
    if (!sqlite3_get_autocommit(db.get())) (void)cli::ExecSqlite(db.get(), "ROLLBACK");
    if (migrated.code() != StatusCode::kBusy) return migrated;
  }
  OWSYNC_RETURN_IF_ERROR(migrated);
  OWSYNC_ASSIGN_OR_RETURN(
      int64_t triggers,
      cli::QueryInt(db.get(),
                    "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND "
                    "tbl_name IN ('chat', 'user', 'config')"));
  OWSYNC_RETURN_IF_ERROR(cli::ExecSqlite(
      db.get(),
      "DELETE FROM chat WHERE id IN (SELECT id FROM chat ORDER BY id LIMIT 5);"
      "DELETE FROM \"user\" WHERE id IN (SELECT id FROM \"user\" ORDER BY id LIMIT 3);"
      "UPDATE chat SET title = 'renamed after the upgrade', tasks = '[]' WHERE id IN "
      "  (SELECT id FROM chat ORDER BY id DESC LIMIT 3);"
      "DELETE FROM config WHERE \"key\" IN (SELECT \"key\" FROM config ORDER BY 1 LIMIT 1);"
      "INSERT INTO config (\"key\", value, updated_at) VALUES ('after.upgrade', '{}', 1);"
      "DELETE FROM api_key WHERE id IN (SELECT id FROM api_key ORDER BY id LIMIT 2);"));
  return triggers;
}

TEST_P(CaptureMigrationTest, UpgradeUnderLiveCaptureAndWritesLosesNothing) {
  ScenarioOptions options;
  options.owsync_binary = OWSYNC_BINARY_PATH;
  options.schema = "v0.6.31";
  options.journal = GetParam();
  options.seed = std::string(GetParam()) == "wal" ? 71 : 72;
  options.initial_transactions = 400;
  auto created = CaptureScenario::Create(options);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  CaptureScenario& s = **created;
  SCOPED_TRACE("directory " + s.dir());
  cli::WorkloadRandom rng(options.seed);

  ASSERT_TRUE(s.InitDatabase().ok());
  ASSERT_TRUE(s.StartCapture().ok());
  ASSERT_TRUE(s.StartWriter().ok());
  s.Sleep(rng.Range(300'000, 900'000));
  ASSERT_TRUE(s.KillCapture().ok()) << s.KeepForInspection();  // one crash before, for good measure
  ASSERT_TRUE(s.StartCapture().ok());
  s.Sleep(rng.Range(200'000, 600'000));

  auto triggers = MigrateAndTouchRebuiltTables(s.db_path());
  ASSERT_TRUE(triggers.ok()) << triggers.status().ToString();
  std::printf("[ %s ] rebuilt tables had %lld triggers when their rows were deleted\n", GetParam(),
              static_cast<long long>(*triggers));

  s.Sleep(rng.Range(300'000, 900'000));  // the application writes the new shapes
  ASSERT_TRUE(s.KillCapture().ok()) << s.KeepForInspection();
  ASSERT_TRUE(s.StartCapture().ok());
  s.Sleep(rng.Range(200'000, 500'000));
  auto writer = s.StopWriter();
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  std::printf("[ %s ] %s\n", GetParam(), writer->c_str());
  EXPECT_NE(writer->find("schema_reloads="), std::string::npos);
  ASSERT_TRUE(s.CheckCaptureAlive().ok()) << s.KeepForInspection();
  ASSERT_TRUE(s.KillCapture().ok());

  Status once = s.CaptureOnce();
  ASSERT_TRUE(once.ok()) << once.ToString() << s.KeepForInspection();
  auto first = s.Verify("copy.db", /*tolerate_victims=*/false);
  ASSERT_TRUE(first.ok()) << first.status().ToString() << s.KeepForInspection();
  std::printf("[ %s ] after drain: %s; applied %s\n", GetParam(), first->Summary().c_str(),
              s.applier()->stats().ToString().c_str());
  EXPECT_TRUE(first->equal()) << first->Summary() << "\n" << s.KeepForInspection();
  // The copy has the new shapes.
  ASSERT_TRUE(s.applier()->tables().count("api_key") > 0);
  ASSERT_TRUE(s.applier()->tables().count("config") > 0);
  EXPECT_EQ(s.applier()->tables().at("config").front().name, "key");

  Status resnap = s.CaptureOnce({"--resnapshot"});
  ASSERT_TRUE(resnap.ok()) << resnap.ToString() << s.KeepForInspection();
  auto exact = s.ApplyMore(/*tolerate_victims=*/false);
  ASSERT_TRUE(exact.ok()) << exact.status().ToString() << s.KeepForInspection();
  EXPECT_TRUE(exact->equal()) << exact->Summary() << "\n" << s.KeepForInspection();
}

INSTANTIATE_TEST_SUITE_P(Journals, CaptureMigrationTest, ::testing::Values("delete", "wal"),
                         [](const ::testing::TestParamInfo<const char*>& p) {
                           return std::string(p.param);
                         });

}  // namespace
}  // namespace owsync::testing
