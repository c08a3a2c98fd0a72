#include "outbox/outbox_writer.h"

#include <vector>

#include "outbox/acked_check.h"
#include "outbox/acked_file.h"
#include "outbox/block_compressor.h"
#include "outbox/format.h"
#include "outbox/identity_file.h"
#include "outbox/outbox_dir.h"
#include "outbox/outbox_recovery.h"
#include "outbox/record_codec.h"
#include "outbox/segment_reader.h"
#include "outbox/segment_writer.h"
#include "outbox/watermark_publisher.h"

namespace owsync::outbox {
namespace {

class OutboxWriterImpl final : public OutboxWriter {
 public:
  OutboxWriterImpl(FileSystem* fs, const std::string& dir, const OutboxWriterOptions& options,
                   std::unique_ptr<FileLock> lock)
      : fs_(fs),
        dir_(dir),
        options_(options),
        lock_(std::move(lock)),
        compressor_(options.zstd_level) {}

  // Creates a new outbox or recovers the existing one; publishes the watermark.
  Status Init();

  Result<uint64_t> Append(Record* record) override;
  Status Commit() override;
  uint64_t durable_offset() const override { return durable_offset_; }
  uint64_t next_offset() const override { return next_offset_; }
  const std::string& outbox_id() const override { return identity_.outbox_id; }
  const std::string& database_generation() const override { return identity_.database_generation; }
  uint64_t buffered_bytes() const override { return pending_.size(); }
  Result<uint64_t> ApplyRetention() override;
  Result<uint64_t> DiskUsage() override;
  Status StartNewGeneration(const std::string& database_generation,
                            uint64_t min_first_offset) override;

 private:
  Status CreateOutbox();
  Status WriteBlocks();
  Status Rotate(uint64_t first_offset);
  Status Publish();
  // Marks the writer unusable with `s`, cuts unsynced bytes off the active segment, drops the
  // buffer; returns `s`.
  Status Fail(Status s);
  void ClearPending();

  FileSystem* fs_;
  OutboxDir dir_;
  OutboxWriterOptions options_;
  std::unique_ptr<FileLock> lock_;
  Identity identity_;
  BlockCompressor compressor_;
  std::unique_ptr<SegmentWriter> active_;
  std::unique_ptr<WatermarkPublisher> publisher_;
  std::string pending_;                 // framed records not yet committed
  std::vector<uint64_t> pending_ends_;  // end of each record in pending_
  uint64_t pending_first_offset_ = 0;
  uint64_t next_offset_ = 1;
  uint64_t durable_offset_ = 0;
  Status broken_;
};

Status OutboxWriterImpl::Init() {
  auto identity = IdentityFile::Read(fs_, dir_.IdentityPath());
  if (!identity.ok()) {
    if (!identity.status().IsNotFound()) return identity.status();
    OWSYNC_RETURN_IF_ERROR(CreateOutbox());
  } else {
    identity_ = std::move(identity).value();
    if (!options_.outbox_id.empty() && options_.outbox_id != identity_.outbox_id) {
      return Status::FailedPrecondition("outbox " + dir_.path() + " has id " + identity_.outbox_id +
                                        ", expected " + options_.outbox_id);
    }
    OWSYNC_ASSIGN_OR_RETURN(RecoveredSegment rec,
                            OutboxRecovery::Run(fs_, dir_, identity_, options_.logger));
    OWSYNC_ASSIGN_OR_RETURN(
        active_, SegmentWriter::Reopen(fs_, rec.path, rec.header, rec.size, rec.header_bytes));
    OWSYNC_RETURN_IF_ERROR(fs_->SyncDir(dir_.path()));
    next_offset_ = rec.next_offset;
  }
  durable_offset_ = next_offset_ - 1;
  pending_first_offset_ = next_offset_;
  Watermark w{IdentityFile::Hash(identity_.outbox_id), durable_offset_, active_->first_offset(),
              active_->synced_size()};
  OWSYNC_ASSIGN_OR_RETURN(publisher_, WatermarkPublisher::Create(fs_, dir_.DurablePath(), w));
  return Status::OK();
}

// A new outbox: the first segment (carrying the ids) is made durable before IDENTITY, so a crash
// in between leaves a header-only segment that the next Open replaces.
Status OutboxWriterImpl::CreateOutbox() {
  OWSYNC_ASSIGN_OR_RETURN(std::vector<SegmentFile> segs, dir_.ListSegments(fs_));
  if (segs.size() > 1) {
    return Status::FailedPrecondition(dir_.path() + " has segment files but no IDENTITY");
  }
  if (segs.size() == 1) {
    // An interrupted creation left segment 1 with no block (header complete or cut off).
    OWSYNC_ASSIGN_OR_RETURN(const uint64_t size, fs_->GetFileSize(segs[0].path));
    OWSYNC_ASSIGN_OR_RETURN(bool empty, SegmentReader::HasTornHeader(fs_, segs[0].path));
    if (!empty) {
      auto reader = SegmentReader::Open(fs_, segs[0].path);
      empty = reader.ok() && (*reader)->data_start() == size;
    }
    if (segs[0].first_offset != 1 || !empty) {
      return Status::FailedPrecondition(dir_.path() + " has segment files but no IDENTITY");
    }
    OWSYNC_RETURN_IF_ERROR(fs_->DeleteFile(segs[0].path));
  }
  identity_.outbox_id = options_.outbox_id;
  if (identity_.outbox_id.empty()) {
    OWSYNC_ASSIGN_OR_RETURN(identity_.outbox_id, IdentityFile::NewOutboxId());
  }
  identity_.database_generation = options_.database_generation;
  next_offset_ = 1;
  OWSYNC_ASSIGN_OR_RETURN(
      active_, SegmentWriter::Create(
                   fs_, dir_, {next_offset_, identity_.outbox_id, identity_.database_generation}));
  return IdentityFile::Write(fs_, dir_.IdentityPath(), identity_);
}

Result<uint64_t> OutboxWriterImpl::Append(Record* record) {
  if (!broken_.ok()) return broken_;
  const auto type = static_cast<uint8_t>(record->type);
  if (type < format::kRecordTypeMin || type > format::kRecordTypeMax) {
    return Status::InvalidArgument("record type " + std::to_string(type) + " is not defined");
  }
  const size_t size = EncodedRecordSize(*record);
  if (size + 10 > format::kMaxBlockBytes) {
    return Status::InvalidArgument("record of " + std::to_string(size) +
                                   " bytes exceeds the format's 2 GiB block limit");
  }
  record->offset = next_offset_++;
  AppendFramedRecord(*record, size, &pending_);
  pending_ends_.push_back(pending_.size());
  return record->offset;
}

Status OutboxWriterImpl::Commit() {
  if (!broken_.ok()) return broken_;
  if (pending_ends_.empty()) return Status::OK();
  Status s = WriteBlocks();
  if (!s.ok()) return Fail(std::move(s));
  const uint64_t durable = next_offset_ - 1;
  ClearPending();
  // Only now is everything up to `durable` on disk; publish it for readers.
  const uint64_t before = durable_offset_;
  durable_offset_ = durable;
  s = Publish();
  if (!s.ok()) {
    durable_offset_ = before;  // unpublished: the caller resends; recovery publishes it
    return Fail(std::move(s));
  }
  return Status::OK();
}

// Cuts the buffered records into blocks of about block_bytes (a record larger than that gets
// a block of its own), writes them, rotating segments at segment_bytes, and fsyncs.
Status OutboxWriterImpl::WriteBlocks() {
  const size_t n = pending_ends_.size();
  uint64_t first = pending_first_offset_;
  uint64_t start = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && pending_ends_[j] - start <= options_.block_bytes) ++j;
    const uint64_t end = pending_ends_[j - 1];
    BuiltBlock block;
    OWSYNC_RETURN_IF_ERROR(compressor_.Build(std::string_view(pending_).substr(start, end - start),
                                             static_cast<uint32_t>(j - i), first, &block));
    if (active_->has_blocks() && active_->size() + block.size() > options_.segment_bytes) {
      OWSYNC_RETURN_IF_ERROR(Rotate(first));
    }
    OWSYNC_RETURN_IF_ERROR(active_->AppendBlock(block));
    first += j - i;
    start = end;
    i = j;
  }
  return active_->Sync();
}

// Seals the active segment (fsynced, closed, never written again) and starts the next one.
Status OutboxWriterImpl::Rotate(uint64_t first_offset) {
  OWSYNC_RETURN_IF_ERROR(active_->Sync());
  OWSYNC_RETURN_IF_ERROR(active_->Close());
  OWSYNC_ASSIGN_OR_RETURN(
      active_, SegmentWriter::Create(
                   fs_, dir_, {first_offset, identity_.outbox_id, identity_.database_generation}));
  return Status::OK();
}

Status OutboxWriterImpl::Publish() {
  return publisher_->Publish({IdentityFile::Hash(identity_.outbox_id), durable_offset_,
                              active_->first_offset(), active_->synced_size()});
}

Status OutboxWriterImpl::Fail(Status s) {
  broken_ = s;
  ClearPending();
  if (active_) {
    Status cut = active_->TruncateToSynced();
    if (!cut.ok() && options_.logger != nullptr) {
      options_.logger->Error("outbox: could not cut unsynced bytes off {}: {}", active_->path(),
                             cut.ToString());
    }
  }
  return s;
}

void OutboxWriterImpl::ClearPending() {
  pending_first_offset_ = next_offset_;
  pending_ends_.clear();
  pending_.clear();
  // Do not keep the memory of a huge record around.
  if (pending_.capacity() > 4 * options_.block_bytes + (size_t{16} << 20)) {
    std::string().swap(pending_);
  }
}

Result<uint64_t> OutboxWriterImpl::ApplyRetention() {
  if (!broken_.ok()) return broken_;
  auto acked = AckedFile::Read(fs_, dir_.path());
  if (!acked.ok()) {
    if (acked.status().IsNotFound()) return uint64_t{0};
    return acked.status();
  }
  if (acked->outbox_id != identity_.outbox_id) {
    return Status::FailedPrecondition(dir_.AckedPath() + " is for outbox " + acked->outbox_id +
                                      ", this outbox is " + identity_.outbox_id +
                                      ": nothing deleted");
  }
  if (acked->acked_offset > durable_offset_) {
    return Status::FailedPrecondition(
        dir_.AckedPath() + " acknowledges offset " + std::to_string(acked->acked_offset) +
        " but only " + std::to_string(durable_offset_) + " is durable: nothing deleted");
  }
  if (!acked->fingerprint.empty()) {
    OWSYNC_ASSIGN_OR_RETURN(
        AckedCheckResult held,
        AckedCheck::Run(fs_, dir_.path(), acked->acked_offset, acked->fingerprint));
    if (held.verdict == AckedVerdict::kDiffers || held.verdict == AckedVerdict::kBeyondEnd) {
      return Status::FailedPrecondition(
          AckedCheck::Describe(held, acked->acked_offset, acked->outbox_id, acked->fingerprint) +
          ": nothing deleted");
    }
  }
  OWSYNC_ASSIGN_OR_RETURN(std::vector<SegmentFile> segs, dir_.ListSegments(fs_));
  uint64_t freed = 0;
  bool deleted = false;
  // Sealed segments only (never the active one); segment i ends where segment i+1 begins. The
  // segment holding the acknowledged record stays, so that the record can still be compared
  // with its fingerprint in PostgreSQL (AckedCheck).
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    if (segs[i].path == active_->path() || segs[i + 1].first_offset - 1 >= acked->acked_offset) {
      break;
    }
    OWSYNC_ASSIGN_OR_RETURN(const uint64_t size, fs_->GetFileSize(segs[i].path));
    OWSYNC_RETURN_IF_ERROR(fs_->DeleteFile(segs[i].path));
    freed += size;
    deleted = true;
  }
  if (deleted) OWSYNC_RETURN_IF_ERROR(fs_->SyncDir(dir_.path()));
  return freed;
}

Result<uint64_t> OutboxWriterImpl::DiskUsage() {
  OWSYNC_ASSIGN_OR_RETURN(std::vector<SegmentFile> segs, dir_.ListSegments(fs_));
  uint64_t total = 0;
  for (const SegmentFile& s : segs) {
    OWSYNC_ASSIGN_OR_RETURN(const uint64_t size, fs_->GetFileSize(s.path));
    total += size;
  }
  return total;
}

// Order, so that a crash at any step is finished or undone by the next Open (OutboxRecovery):
// 1. the new generation's first segment, durable; 2. IDENTITY replaced; 3. old segments moved
// to retired/<old id>/; 4. DURABLE started over for the new id.
Status OutboxWriterImpl::StartNewGeneration(const std::string& database_generation,
                                            uint64_t min_first_offset) {
  if (!broken_.ok()) return broken_;
  if (!IsValidId(database_generation, true)) {
    return Status::InvalidArgument("database generation must be 0..255 printable ASCII bytes");
  }
  OWSYNC_RETURN_IF_ERROR(Commit());
  OWSYNC_ASSIGN_OR_RETURN(std::string new_id, IdentityFile::NewOutboxId());
  const Identity old = identity_;
  // An empty active segment already carries the name next_offset_: skip one offset number
  // (offsets only need to increase across generations, not be contiguous).
  if (!active_->has_blocks()) ++next_offset_;
  next_offset_ = std::max(next_offset_, min_first_offset);
  OWSYNC_ASSIGN_OR_RETURN(std::vector<SegmentFile> old_segments, dir_.ListSegments(fs_));
  Status s = active_->Close();
  if (!s.ok()) return Fail(std::move(s));
  auto created = SegmentWriter::Create(fs_, dir_, {next_offset_, new_id, database_generation});
  if (!created.ok()) {
    active_.reset();
    return Fail(created.status());
  }
  active_ = std::move(created).value();
  identity_ = Identity{new_id, database_generation};
  s = IdentityFile::Write(fs_, dir_.IdentityPath(), identity_);
  if (s.ok()) s = OutboxRecovery::RetireSegments(fs_, dir_, old_segments, old.outbox_id);
  if (!s.ok()) return Fail(std::move(s));
  durable_offset_ = next_offset_ - 1;
  pending_first_offset_ = next_offset_;
  auto publisher =
      WatermarkPublisher::Create(fs_, dir_.DurablePath(),
                                 {IdentityFile::Hash(identity_.outbox_id), durable_offset_,
                                  active_->first_offset(), active_->synced_size()});
  if (!publisher.ok()) return Fail(publisher.status());
  publisher_ = std::move(publisher).value();
  if (options_.logger != nullptr) {
    options_.logger->Info(
        "outbox: new generation {} (database generation \"{}\") from offset {}; "
        "{} segment(s) of {} moved to {}",
        identity_.outbox_id, database_generation, next_offset_, old_segments.size(), old.outbox_id,
        dir_.RetiredDir(old.outbox_id));
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<OutboxWriter>> OutboxWriter::Open(FileSystem* fs, Clock* clock,
                                                         const std::string& dir,
                                                         const OutboxWriterOptions& options) {
  (void)clock;  // the format records no times; kept for callers and future use
  if (options.segment_bytes == 0 || options.block_bytes == 0) {
    return Status::InvalidArgument("segment_bytes and block_bytes must be positive");
  }
  if (options.block_bytes > format::kMaxBlockBytes / 2) {
    return Status::InvalidArgument("block_bytes must be at most 1 GiB");
  }
  if (!options.outbox_id.empty() && !IsValidId(options.outbox_id, false)) {
    return Status::InvalidArgument("outbox id must be 1..255 printable ASCII bytes, no spaces");
  }
  if (!IsValidId(options.database_generation, true)) {
    return Status::InvalidArgument("database generation must be 0..255 printable ASCII bytes");
  }
  OWSYNC_RETURN_IF_ERROR(fs->CreateDirs(dir));
  OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock, fs->LockFile(OutboxDir(dir).LockPath()));
  auto writer = std::make_unique<OutboxWriterImpl>(fs, dir, options, std::move(lock));
  OWSYNC_RETURN_IF_ERROR(writer->Init());
  return std::unique_ptr<OutboxWriter>(std::move(writer));
}

}  // namespace owsync::outbox
