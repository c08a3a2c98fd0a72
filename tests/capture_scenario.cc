#include "tests/capture_scenario.h"

#include <signal.h>

#include <cstdlib>

#include "capture/capture_meta.h"
#include "cli/sqlite_handle.h"
#include "cli/workload_generator.h"
#include "cli/workload_key_cache.h"

namespace owsync::testing {

CaptureScenario::CaptureScenario(const ScenarioOptions& options, std::unique_ptr<FileSystem> fs,
                                 std::unique_ptr<Clock> clock, cli::PrivateDir dir)
    : options_(options), fs_(std::move(fs)), clock_(std::move(clock)), dir_(std::move(dir)) {}

CaptureScenario::~CaptureScenario() {
  // ChildProcess kills and reaps a child still running; the applier closes its copy first.
  writer_.reset();
  capture_.reset();
  applier_.reset();
  const char* keep = std::getenv("OWSYNC_KEEP_TEST_DIRS");
  if (keep != nullptr && std::string(keep) == "1") dir_.Keep();
}

Result<std::unique_ptr<CaptureScenario>> CaptureScenario::Create(const ScenarioOptions& options) {
  auto fs = NewPosixFileSystem();
  auto clock = NewSystemClock();
  OWSYNC_ASSIGN_OR_RETURN(
      cli::PrivateDir dir,
      cli::PrivateDir::Create(
          fs.get(), "owsync-chaos-" + options.schema + "-" + options.journal + "-", std::nullopt));
  return std::unique_ptr<CaptureScenario>(
      new CaptureScenario(options, std::move(fs), std::move(clock), std::move(dir)));
}

std::string CaptureScenario::KeepForInspection() {
  dir_.Keep();
  return "scenario directory kept: " + dir_.path();
}

Result<cli::ChildProcess> CaptureScenario::Spawn(const std::vector<std::string>& args,
                                                 const std::string& log) {
  cli::ChildProcessOptions o;
  o.argv = {options_.owsync_binary};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.output_path = dir_.Child(log);
  o.parent_death_signal = SIGKILL;  // never outlive a crashed test
  return cli::ChildProcess::Start(o);
}

std::string CaptureScenario::LogTail(const std::string& name, size_t bytes) const {
  auto text = ReadFileToString(fs_.get(), dir_.Child(name));
  if (!text.ok()) return "(no " + name + ")";
  const std::string& t = *text;
  return "--- last of " + name + " ---\n" + (t.size() > bytes ? t.substr(t.size() - bytes) : t);
}

Status CaptureScenario::InitDatabase() {
  OWSYNC_ASSIGN_OR_RETURN(
      cli::ChildProcess init,
      Spawn({"workload", "--init", "--db", db_path(), "--schema", options_.schema, "--synchronous",
             "off", "--journal", options_.journal, "--ops",
             std::to_string(options_.initial_transactions), "--seed", std::to_string(options_.seed),
             "--victims", victims_path()},
            "writer.log"));
  OWSYNC_ASSIGN_OR_RETURN(int status, init.Wait());
  if (cli::ExitCodeOf(status) != 0) {
    return Status::Internal("workload --init " + cli::DescribeWaitStatus(status) + "\n" +
                            LogTail("writer.log"));
  }
  return Status::OK();
}

Status CaptureScenario::StartWriter() {
  if (writer_) return Status::FailedPrecondition("writer already running");
  uint64_t seed = options_.seed * 1000 + static_cast<uint64_t>(++writer_starts_);
  std::vector<std::string> args = {"workload",           "--db",      db_path(),     "--seed",
                                   std::to_string(seed), "--victims", victims_path()};
  double rate =
      options_.writer_rate > 0 ? options_.writer_rate : (options_.journal == "wal" ? 200 : 25);
  args.push_back("--rate");
  args.push_back(std::to_string(rate));
  OWSYNC_ASSIGN_OR_RETURN(cli::ChildProcess p, Spawn(args, "writer.log"));
  writer_.emplace(std::move(p));
  return WaitWriterReady();
}

// The writer logs "workload: writing to ... until SIGTERM/SIGINT" once its stop handler is in place
// and the database is open; only then does a test's sleep count as writing time and SIGTERM end it
// cleanly.
Status CaptureScenario::WaitWriterReady() {
  const int64_t deadline = clock_->MonotonicMicros() + 60'000'000;
  while (clock_->MonotonicMicros() < deadline) {
    OWSYNC_ASSIGN_OR_RETURN(std::optional<int> status, writer_->TryWait());
    if (status.has_value()) {
      writer_.reset();
      return Status::Internal("writer exited at start: " + cli::DescribeWaitStatus(*status) + "\n" +
                              LogTail("writer.log"));
    }
    OWSYNC_ASSIGN_OR_RETURN(std::string log, ReadFileToString(fs_.get(), dir_.Child("writer.log")));
    int ready = 0;
    for (size_t pos = 0; (pos = log.find(" until SIGTERM/SIGINT", pos)) != std::string::npos;
         ++pos) {
      ++ready;
    }
    if (ready >= writer_starts_) return Status::OK();
    Sleep(20'000);
  }
  return Status::Internal("writer not ready after 60 s\n" + LogTail("writer.log"));
}

Result<std::string> CaptureScenario::StopWriter() {
  if (!writer_) return Status::FailedPrecondition("writer not running");
  OWSYNC_RETURN_IF_ERROR(writer_->Signal(SIGTERM));
  OWSYNC_ASSIGN_OR_RETURN(std::optional<int> status, writer_->WaitFor(clock_.get(), 60'000'000));
  writer_.reset();
  if (!status.has_value()) return Status::Internal("writer did not stop within 60 s");
  if (cli::ExitCodeOf(*status) != 0) {
    return Status::Internal("writer " + cli::DescribeWaitStatus(*status) + "\n" +
                            LogTail("writer.log"));
  }
  auto log = ReadFileToString(fs_.get(), dir_.Child("writer.log"));
  if (!log.ok()) return log.status();
  size_t pos = log->rfind("workload: seed=");
  if (pos == std::string::npos) return std::string();
  return log->substr(pos, log->find('\n', pos) - pos);
}

Status CaptureScenario::StartCapture(const std::vector<std::string>& extra) {
  if (capture_) return Status::FailedPrecondition("capture already running");
  std::vector<std::string> args = {
      "capture",  "--db",       db_path(),
      "--outbox", outbox_dir(), "--client",
      "chaos",    "--poll-ms",  std::to_string(options_.capture_poll_ms)};
  args.insert(args.end(), extra.begin(), extra.end());
  ++capture_starts_;
  OWSYNC_ASSIGN_OR_RETURN(cli::ChildProcess p, Spawn(args, "capture.log"));
  capture_.emplace(std::move(p));
  return Status::OK();
}

Status CaptureScenario::CheckCaptureAlive() {
  if (!capture_) return Status::FailedPrecondition("capture not running");
  OWSYNC_ASSIGN_OR_RETURN(std::optional<int> status, capture_->TryWait());
  if (status.has_value()) {
    capture_.reset();
    return Status::Internal("capture exited by itself: " + cli::DescribeWaitStatus(*status) + "\n" +
                            LogTail("capture.log"));
  }
  return Status::OK();
}

Status CaptureScenario::KillCapture() {
  OWSYNC_RETURN_IF_ERROR(CheckCaptureAlive());
  OWSYNC_RETURN_IF_ERROR(capture_->Signal(SIGKILL));
  OWSYNC_ASSIGN_OR_RETURN(int status, capture_->Wait());
  capture_.reset();
  (void)status;
  return Status::OK();
}

Status CaptureScenario::CaptureOnce(const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"capture",    "--db",     db_path(), "--outbox",
                                   outbox_dir(), "--client", "chaos",   "--once"};
  args.insert(args.end(), extra.begin(), extra.end());
  OWSYNC_ASSIGN_OR_RETURN(cli::ChildProcess p, Spawn(args, "capture.log"));
  OWSYNC_ASSIGN_OR_RETURN(std::optional<int> status, p.WaitFor(clock_.get(), 120'000'000));
  if (!status.has_value()) return Status::Internal("capture --once did not finish in 120 s");
  if (cli::ExitCodeOf(*status) != 0) {
    return Status::Internal("capture --once " + cli::DescribeWaitStatus(*status) + "\n" +
                            LogTail("capture.log"));
  }
  return Status::OK();
}

Result<int64_t> CaptureScenario::ChangelogRows() {
  OWSYNC_ASSIGN_OR_RETURN(cli::SqliteDb db, cli::OpenSqlite(db_path(), false, 5000));
  OWSYNC_ASSIGN_OR_RETURN(
      int64_t exists,
      cli::QueryInt(db.get(), "SELECT count(*) FROM sqlite_schema WHERE name = '_owsync_changes'"));
  if (exists == 0) return int64_t{-1};
  return cli::QueryInt(db.get(), "SELECT count(*) FROM _owsync_changes");
}

Result<int64_t> CaptureScenario::SnapshotsOwed() {
  OWSYNC_ASSIGN_OR_RETURN(cli::SqliteDb db, cli::OpenSqlite(db_path(), false, 5000));
  const std::string table = capture::CaptureMeta::kTable;
  OWSYNC_ASSIGN_OR_RETURN(
      int64_t exists,
      cli::QueryInt(db.get(), "SELECT count(*) FROM sqlite_schema WHERE name = '" + table + "'"));
  if (exists == 0) return int64_t{-1};
  return cli::QueryInt(
      db.get(), "SELECT count(*) FROM " + table + " WHERE substr(key, 1, " +
                    std::to_string(sizeof(capture::CaptureMeta::kSnapshotPrefix) - 1) + ") = '" +
                    capture::CaptureMeta::kSnapshotPrefix + "'");
}

Status CaptureScenario::WaitSnapshotsDone(int64_t timeout_micros) {
  const int64_t deadline = clock_->MonotonicMicros() + timeout_micros;
  while (clock_->MonotonicMicros() < deadline) {
    OWSYNC_RETURN_IF_ERROR(CheckCaptureAlive());
    OWSYNC_ASSIGN_OR_RETURN(int64_t owed, SnapshotsOwed());
    if (owed == 0) {
      // Capture sets its identity and the marks of the snapshots it owes together: no marks
      // before the identity exists means it has not started yet.
      OWSYNC_ASSIGN_OR_RETURN(cli::SqliteDb db, cli::OpenSqlite(db_path(), false, 5000));
      OWSYNC_ASSIGN_OR_RETURN(
          int64_t identity,
          cli::QueryInt(db.get(), std::string("SELECT count(*) FROM ") +
                                      capture::CaptureMeta::kTable + " WHERE key = '" +
                                      capture::CaptureMeta::kGeneration + "'"));
      if (identity > 0) return Status::OK();
    }
    Sleep(50'000);
  }
  return Status::Internal("capture still owes snapshots after " +
                          std::to_string(timeout_micros / 1'000'000) + " s\n" +
                          LogTail("capture.log"));
}

Result<Comparison> CaptureScenario::Verify(const std::string& copy_name, bool tolerate_victims) {
  OWSYNC_ASSIGN_OR_RETURN(applier_, OutboxApplier::Open(dir_.Child(copy_name)));
  return ApplyMore(tolerate_victims);
}

Result<Comparison> CaptureScenario::ApplyMore(bool tolerate_victims) {
  if (!applier_) return Status::FailedPrecondition("Verify first");
  OWSYNC_RETURN_IF_ERROR(applier_->ApplyOutbox(fs_.get(), outbox_dir()));
  return Compare(tolerate_victims);
}

Result<Comparison> CaptureScenario::Compare(bool tolerate_victims) {
  ComparatorOptions options;
  if (tolerate_victims && fs_->FileExists(victims_path())) {
    OWSYNC_ASSIGN_OR_RETURN(std::string text, ReadFileToString(fs_.get(), victims_path()));
    OWSYNC_ASSIGN_OR_RETURN(std::vector<cli::WorkloadVictim> victims,
                            cli::WorkloadGenerator::ParseVictims(text));
    for (const cli::WorkloadVictim& v : victims) {
      options.tolerated_extra_rows.emplace(v.table, cli::WorkloadKeyCache::Encode(v.key));
    }
  }
  OWSYNC_ASSIGN_OR_RETURN(cli::SqliteDb source, cli::OpenSqlite(db_path(), false, 5000));
  return TableComparator::Compare(source.get(), applier_->db(), applier_->tables(), options);
}

}  // namespace owsync::testing
