#include "tests/in_process_capture.h"

#include "capture/outbox_high_water.h"
#include "cli/sqlite_handle.h"
#include "cli/workload_key_cache.h"
#include "outbox/outbox_writer.h"

namespace owsync::testing {

InProcessCapture::InProcessCapture(ScopedTempDir dir, uint64_t seed)
    : dir_(std::move(dir)),
      seed_(seed),
      posix_fs_(NewPosixFileSystem()),
      fault_fs_(std::make_unique<FaultInjectionFileSystem>(posix_fs_.get())) {}

InProcessCapture::~InProcessCapture() {
  loop_.reset();  // before the filesystem it writes through
  applier_.reset();
  app_.reset();
}

Result<std::unique_ptr<InProcessCapture>> InProcessCapture::Create(const std::string& schema,
                                                                   const std::string& journal,
                                                                   uint64_t seed,
                                                                   int64_t initial_transactions) {
  OWSYNC_ASSIGN_OR_RETURN(ScopedTempDir dir, ScopedTempDir::Create("owsync-fault-"));
  std::unique_ptr<InProcessCapture> c(new InProcessCapture(std::move(dir), seed));
  OWSYNC_RETURN_IF_ERROR(cli::WorkloadGenerator::InitDatabase(c->db_path(), schema, journal));
  cli::WorkloadOptions options;
  options.db_path = c->db_path();
  options.seed = seed;
  options.synchronous = "off";  // the database is never power-cut here; speed matters
  OWSYNC_ASSIGN_OR_RETURN(c->app_,
                          cli::WorkloadGenerator::Open(c->posix_fs_.get(), &c->clock_, options));
  OWSYNC_RETURN_IF_ERROR(c->Write(initial_transactions));
  return c;
}

Status InProcessCapture::Write(int64_t transactions) {
  for (int64_t i = 0; i < transactions; ++i) OWSYNC_RETURN_IF_ERROR(app_->RunTransaction());
  return Status::OK();
}

Status InProcessCapture::StartCapture() {
  capture::CaptureOptions o;
  o.db_path = db_path();
  o.outbox_dir = outbox_dir();
  o.client = "fault";
  o.poll_micros = 1000;
  o.writer.segment_bytes = 256 << 10;  // several segments, so rotation is exercised too
  o.writer.block_bytes = 32 << 10;
  FileSystem* fs = fault_fs_.get();
  Clock* clock = &clock_;
  const std::string dir = outbox_dir();
  o.open_writer = [fs, clock, dir](const outbox::OutboxWriterOptions& wo) {
    return outbox::OutboxWriter::Open(fs, clock, dir, wo);
  };
  o.outbox_high_water = [fs, dir](const outbox::OutboxWriter& w) {
    return capture::ScanOutboxHighWater(fs, dir, w.durable_offset(), 4096);
  };
  loop_ = std::make_unique<capture::CaptureLoop>(fault_fs_.get(), &clock_, &logger_, std::move(o));
  return loop_->Start();
}

Status InProcessCapture::StepUntilIdle(int max_steps) {
  for (int i = 0; i < max_steps; ++i) {
    OWSYNC_ASSIGN_OR_RETURN(bool more, loop_->Step());
    if (!more) return Status::OK();
  }
  return Status::Internal("capture still busy after " + std::to_string(max_steps) + " steps");
}

Result<int64_t> InProcessCapture::ChangelogRows() {
  OWSYNC_ASSIGN_OR_RETURN(cli::SqliteDb db, cli::OpenSqlite(db_path(), false, 5000));
  return cli::QueryInt(db.get(), "SELECT count(*) FROM _owsync_changes");
}

Result<Comparison> InProcessCapture::Verify(bool tolerate_victims) {
  applier_.reset();
  OWSYNC_ASSIGN_OR_RETURN(
      applier_, OutboxApplier::Open(dir_.Child("copy" + std::to_string(++copies_) + ".db")));
  OWSYNC_RETURN_IF_ERROR(applier_->ApplyOutbox(posix_fs_.get(), outbox_dir()));
  ComparatorOptions options;
  if (tolerate_victims) {
    for (const cli::WorkloadVictim& v : app_->victims()) {
      options.tolerated_extra_rows.emplace(v.table, cli::WorkloadKeyCache::Encode(v.key));
    }
  }
  OWSYNC_ASSIGN_OR_RETURN(cli::SqliteDb source, cli::OpenSqlite(db_path(), false, 5000));
  return TableComparator::Compare(source.get(), applier_->db(), applier_->tables(), options);
}

}  // namespace owsync::testing
