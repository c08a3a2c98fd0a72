// A restored older copy of the database replaces the live one: capture must notice, start a new
// outbox generation (new outbox id; the old segments kept under retired/<old id>/) with a full
// snapshot, and lose nothing: the new generation applied to an empty copy equals the restored
// database and what the application wrote after the restore.
//
// The copy is taken with SQLite's online backup while capture runs and the application writes;
// more is written, the application stops, and the copy comes back in one of two ways an
// operator restores a SQLite file: SQLite's backup API into the live file (`sqlite3 webui.db
// ".restore backup.db"`: same inode) or a new file renamed over the old one (stale -wal/-shm
// removed first). Then the application writes on. Both fixtures, both journal modes. A third
// case restores while capture is down and lets the application write more changes than the
// restore took back before capture starts again.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "cli/sqlite_handle.h"
#include "outbox/outbox_reader.h"
#include "tests/capture_scenario.h"

namespace owsync::testing {
namespace {

enum class RestoreKind { kBackupApi, kRenameOver };

struct RestoreCase {
  const char* schema;
  const char* journal;
  RestoreKind kind;
};

// Copies `from` into `to` page by page with SQLite's online backup (retrying while busy).
Status SqliteBackup(const std::string& from, const std::string& to) {
  OWSYNC_ASSIGN_OR_RETURN(cli::SqliteDb src, cli::OpenSqlite(from, false, 5000));
  OWSYNC_ASSIGN_OR_RETURN(cli::SqliteDb dst, cli::OpenSqlite(to, true, 5000));
  sqlite3_backup* b = sqlite3_backup_init(dst.get(), "main", src.get(), "main");
  if (b == nullptr) return cli::SqliteStatus(dst.get(), sqlite3_errcode(dst.get()), "backup init");
  int rc;
  int waits = 0;
  while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    if (++waits > 500) break;
    ::usleep(10'000);
  }
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) return cli::SqliteStatus(dst.get(), rc, "backup " + from + " -> " + to);
  return Status::OK();
}

// Puts `backup` in place of `db` as a new file: stale WAL and shared-memory files go first
// (they belong to the replaced database), then an atomic rename.
Status RenameOver(const std::string& backup, const std::string& db) {
  std::error_code ec;
  std::filesystem::copy_file(backup, db + ".restoring", ec);
  if (ec) return Status::IOError("copy " + backup + ": " + ec.message());
  std::filesystem::remove(db + "-wal", ec);
  std::filesystem::remove(db + "-shm", ec);
  std::filesystem::rename(db + ".restoring", db, ec);
  if (ec) return Status::IOError("rename over " + db + ": " + ec.message());
  return Status::OK();
}

Result<std::string> OutboxId(CaptureScenario& s) {
  OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<outbox::OutboxReader> r,
                          outbox::OutboxReader::Open(s.fs(), s.outbox_dir(), 0));
  return r->outbox_id();
}

// Waits until capture drained the changelog (the application is stopped).
Status WaitDrained(CaptureScenario& s) {
  for (int i = 0; i < 300; ++i) {
    OWSYNC_RETURN_IF_ERROR(s.CheckCaptureAlive());
    OWSYNC_ASSIGN_OR_RETURN(int64_t rows, s.ChangelogRows());
    if (rows == 0) return Status::OK();
    s.Sleep(50'000);
  }
  return Status::Internal("capture did not drain the changelog in 15 s\n" +
                          s.LogTail("capture.log"));
}

// The checks after a restore: a new generation, the old one kept, nothing lost.
void ExpectNewGenerationEqualToTheDatabase(CaptureScenario& s, const std::string& old_id) {
  auto new_id = OutboxId(s);
  ASSERT_TRUE(new_id.ok()) << new_id.status().ToString();
  EXPECT_NE(*new_id, old_id) << "the restore was not detected\n" << s.LogTail("capture.log");
  if (*new_id != old_id) {
    const std::string retired = s.outbox_dir() + "/retired/" + old_id;
    auto kept = s.fs()->GetChildren(retired);
    ASSERT_TRUE(kept.ok()) << retired << ": " << kept.status().ToString();
    EXPECT_FALSE(kept->empty()) << "the old generation's segments were not kept";
  }

  auto first = s.Verify("copy.db", /*tolerate_victims=*/false);
  ASSERT_TRUE(first.ok()) << first.status().ToString() << s.KeepForInspection();
  std::printf("after restore: %s; applied %s\n", first->Summary().c_str(),
              s.applier()->stats().ToString().c_str());
  EXPECT_TRUE(first->equal()) << first->Summary() << "\n" << s.KeepForInspection();
  EXPECT_GT(first->rows_compared, 50);

  Status resnap = s.CaptureOnce({"--resnapshot"});
  ASSERT_TRUE(resnap.ok()) << resnap.ToString() << s.KeepForInspection();
  auto exact = s.ApplyMore(/*tolerate_victims=*/false);
  ASSERT_TRUE(exact.ok()) << exact.status().ToString() << s.KeepForInspection();
  EXPECT_TRUE(exact->equal()) << exact->Summary() << "\n" << s.KeepForInspection();
}

std::unique_ptr<CaptureScenario> NewScenario(const char* schema, const char* journal,
                                             uint64_t seed) {
  ScenarioOptions options;
  options.owsync_binary = OWSYNC_BINARY_PATH;
  options.schema = schema;
  options.journal = journal;
  options.seed = seed;
  auto created = CaptureScenario::Create(options);
  EXPECT_TRUE(created.ok()) << created.status().ToString();
  return created.ok() ? std::move(created).value() : nullptr;
}

void PrintTo(const RestoreCase& c, std::ostream* os) {
  *os << c.schema << "/" << c.journal
      << (c.kind == RestoreKind::kBackupApi ? "/backup-api" : "/rename");
}

class CaptureRestoreTest : public ::testing::TestWithParam<RestoreCase> {};

TEST_P(CaptureRestoreTest, RestoredCopyUnderRunningCaptureStartsANewGeneration) {
  const RestoreCase& c = GetParam();
  auto scenario = NewScenario(c.schema, c.journal, 90 + static_cast<uint64_t>(c.kind));
  ASSERT_NE(scenario, nullptr);
  CaptureScenario& s = *scenario;
  SCOPED_TRACE("directory " + s.dir());
  const std::string backup = s.dir() + "/backup.db";

  ASSERT_TRUE(s.InitDatabase().ok());
  ASSERT_TRUE(s.StartCapture().ok());
  ASSERT_TRUE(s.StartWriter().ok());
  s.Sleep(300'000);
  // The copy must not carry snapshot marks: only noticing the restore may bring it back in line.
  ASSERT_TRUE(s.WaitSnapshotsDone().ok()) << s.KeepForInspection();
  s.Sleep(300'000);
  ASSERT_TRUE(SqliteBackup(s.db_path(), backup).ok());
  s.Sleep(600'000);  // changes the restore takes back
  {
    auto stopped = s.StopWriter();
    ASSERT_TRUE(stopped.ok()) << stopped.status().ToString() << s.KeepForInspection();
  }
  ASSERT_TRUE(WaitDrained(s).ok()) << s.KeepForInspection();
  auto old_id = OutboxId(s);
  ASSERT_TRUE(old_id.ok()) << old_id.status().ToString();

  Status restored = c.kind == RestoreKind::kBackupApi ? SqliteBackup(backup, s.db_path())
                                                      : RenameOver(backup, s.db_path());
  ASSERT_TRUE(restored.ok()) << restored.ToString();
  ASSERT_TRUE(s.StartWriter().ok());
  s.Sleep(600'000);
  {
    auto stopped = s.StopWriter();
    ASSERT_TRUE(stopped.ok()) << stopped.status().ToString() << s.KeepForInspection();
  }
  ASSERT_TRUE(s.CheckCaptureAlive().ok()) << s.KeepForInspection();
  s.Sleep(300'000);
  ASSERT_TRUE(s.KillCapture().ok());
  Status once = s.CaptureOnce();
  ASSERT_TRUE(once.ok()) << once.ToString() << s.KeepForInspection();
  ExpectNewGenerationEqualToTheDatabase(s, *old_id);
}

INSTANTIATE_TEST_SUITE_P(
    FixturesJournalsAndWays, CaptureRestoreTest,
    ::testing::Values(RestoreCase{"v0.6.31", "delete", RestoreKind::kBackupApi},
                      RestoreCase{"v0.6.31", "wal", RestoreKind::kBackupApi},
                      RestoreCase{"v0.11.0", "delete", RestoreKind::kBackupApi},
                      RestoreCase{"v0.11.0", "wal", RestoreKind::kBackupApi},
                      RestoreCase{"v0.6.31", "delete", RestoreKind::kRenameOver},
                      RestoreCase{"v0.6.31", "wal", RestoreKind::kRenameOver},
                      RestoreCase{"v0.11.0", "delete", RestoreKind::kRenameOver},
                      RestoreCase{"v0.11.0", "wal", RestoreKind::kRenameOver}),
    [](const ::testing::TestParamInfo<RestoreCase>& p) {
      std::string name = std::string(p.param.schema) + "_" + p.param.journal +
                         (p.param.kind == RestoreKind::kBackupApi ? "_backup_api" : "_rename");
      for (char& ch : name) {
        if (ch == '.') ch = '_';
      }
      return name;
    });

// The restore happens while capture is down, and the application then writes more changes
// than the restore took back, so the changelog's seq counter passes the outbox's again before
// capture looks: seq numbers alone cannot tell; the restore must still be detected.
TEST(CaptureRestoreWhileDownTest, RestoreWhileCaptureIsDownIsDetectedAfterManyWrites) {
  for (const char* journal : {"delete", "wal"}) {
    SCOPED_TRACE(journal);
    auto scenario = NewScenario("v0.11.0", journal, 95);
    ASSERT_NE(scenario, nullptr);
    CaptureScenario& s = *scenario;
    SCOPED_TRACE("directory " + s.dir());
    const std::string backup = s.dir() + "/backup.db";
    ASSERT_TRUE(s.InitDatabase().ok());
    ASSERT_TRUE(s.StartCapture().ok());
    ASSERT_TRUE(s.StartWriter().ok());
    ASSERT_TRUE(s.WaitSnapshotsDone().ok()) << s.KeepForInspection();
    s.Sleep(400'000);
    ASSERT_TRUE(SqliteBackup(s.db_path(), backup).ok());
    s.Sleep(500'000);
    {
      auto stopped = s.StopWriter();
      ASSERT_TRUE(stopped.ok()) << stopped.status().ToString() << s.KeepForInspection();
    }
    ASSERT_TRUE(WaitDrained(s).ok()) << s.KeepForInspection();
    ASSERT_TRUE(s.KillCapture().ok());
    auto old_id = OutboxId(s);
    ASSERT_TRUE(old_id.ok());

    ASSERT_TRUE(RenameOver(backup, s.db_path()).ok());
    ASSERT_TRUE(s.StartWriter().ok());
    s.Sleep(1'500'000);  // three times as long as the stretch the restore took back
    {
      auto stopped = s.StopWriter();
      ASSERT_TRUE(stopped.ok()) << stopped.status().ToString() << s.KeepForInspection();
    }
    Status once = s.CaptureOnce();
    ASSERT_TRUE(once.ok()) << once.ToString() << s.KeepForInspection();
    ExpectNewGenerationEqualToTheDatabase(s, *old_id);
  }
}

}  // namespace
}  // namespace owsync::testing
