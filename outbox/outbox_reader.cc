#include "outbox/outbox_reader.h"

#include <optional>
#include <vector>

#include "outbox/identity_file.h"
#include "outbox/outbox_dir.h"
#include "outbox/record_codec.h"
#include "outbox/record_fingerprint.h"
#include "outbox/segment_reader.h"
#include "outbox/watermark.h"

namespace owsync::outbox {
namespace {

class OutboxReaderImpl final : public OutboxReader {
 public:
  OutboxReaderImpl(FileSystem* fs, const std::string& dir, const OutboxReaderOptions& options)
      : fs_(fs), dir_(dir), options_(options) {}

  Status Init(uint64_t from_offset);

  Result<bool> Next(Record* record) override;
  uint64_t fingerprint() const override { return fingerprint_; }
  const std::string& outbox_id() const override { return identity_.outbox_id; }
  const std::string& database_generation() const override { return identity_.database_generation; }
  uint64_t first_retained_offset() const override { return first_retained_; }
  Result<uint64_t> RefreshWatermark() override;
  bool has_watermark() const override { return wm_.has_value(); }

 private:
  // Loads the next block holding a record at or above want_: true, or false at the end of
  // what may be read now.
  Result<bool> LoadNextBlock();
  Status OpenSegment(const SegmentFile& file);
  Status OpenNextSegment();
  Result<bool> IsLastSegment();
  Status CheckStillSameOutbox();
  // FailedPrecondition when the data ends below the start offset (records written there later
  // would otherwise be skipped without a word).
  Status CheckStartNotPastEnd();
  Status Fail(Status s) {
    broken_ = s;
    return s;
  }

  FileSystem* fs_;
  OutboxDir dir_;
  OutboxReaderOptions options_;
  Identity identity_;
  uint64_t id_hash_ = 0;
  uint64_t first_retained_ = 0;
  std::optional<Watermark> wm_;
  uint64_t want_ = 0;  // offset of the next record to return
  uint64_t fingerprint_ = 0;

  std::unique_ptr<SegmentReader> seg_;
  std::optional<bool> seg_is_last_;  // ignore_watermark mode: cached listing answer
  uint64_t pos_ = 0;                 // position of the next block in seg_
  uint64_t expected_ = 0;            // first offset the block at pos_ must have

  std::string block_;  // records of the current block
  std::string_view rest_;
  uint64_t block_pos_ = 0;
  uint64_t block_next_ = 0;  // offset of the record at the front of rest_
  uint64_t block_end_ = 0;   // one past the block's last offset
  Status broken_;
};

Status OutboxReaderImpl::Init(uint64_t from_offset) {
  auto identity = IdentityFile::Read(fs_, dir_.IdentityPath());
  if (!identity.ok()) {
    if (identity.status().IsNotFound()) {
      return Status::NotFound(dir_.path() + " is not an outbox (no IDENTITY file)");
    }
    return identity.status();
  }
  identity_ = std::move(identity).value();
  id_hash_ = IdentityFile::Hash(identity_.outbox_id);
  OWSYNC_ASSIGN_OR_RETURN(std::vector<SegmentFile> files, dir_.ListSegments(fs_));
  // Segments of an older generation may still precede ours while the writer retires them.
  size_t k = 0;
  for (; k < files.size(); ++k) {
    OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<SegmentReader> r,
                            SegmentReader::Open(fs_, files[k].path));
    if (r->header().outbox_id == identity_.outbox_id) break;
  }
  if (k == files.size()) {
    return Status::Corruption(dir_.path() + ": no segment of outbox " + identity_.outbox_id);
  }
  first_retained_ = files[k].first_offset;
  if (from_offset == 0) from_offset = first_retained_;
  if (from_offset < first_retained_) {
    return Status::FailedPrecondition(
        "outbox " + dir_.path() + ": offset " + std::to_string(from_offset) +
        " was already deleted (first retained offset is " + std::to_string(first_retained_) + ")");
  }
  size_t pick = k;
  for (size_t i = k; i < files.size() && files[i].first_offset <= from_offset; ++i) pick = i;
  want_ = from_offset;
  OWSYNC_RETURN_IF_ERROR(OpenSegment(files[pick]));
  if (!options_.ignore_watermark) {
    OWSYNC_ASSIGN_OR_RETURN(const uint64_t ignored, RefreshWatermark());
    (void)ignored;
  }
  return Status::OK();
}

Status OutboxReaderImpl::OpenSegment(const SegmentFile& file) {
  OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<SegmentReader> r, SegmentReader::Open(fs_, file.path));
  const SegmentHeader& h = r->header();
  if (h.first_offset != file.first_offset) {
    return r->CorruptionAt(16, "header says first offset " + std::to_string(h.first_offset));
  }
  if (h.outbox_id != identity_.outbox_id) {
    return r->CorruptionAt(
        24, "segment of outbox " + h.outbox_id + ", IDENTITY says " + identity_.outbox_id);
  }
  if (h.database_generation != identity_.database_generation) {
    return r->CorruptionAt(24, "segment of database generation \"" + h.database_generation +
                                   "\", IDENTITY says \"" + identity_.database_generation + "\"");
  }
  pos_ = r->data_start();
  expected_ = h.first_offset;
  seg_ = std::move(r);
  seg_is_last_.reset();
  return Status::OK();
}

// A missing next segment is a gap (Corruption) unless the outbox moved on: a new generation
// (FailedPrecondition) or retention past this reader (FailedPrecondition).
Status OutboxReaderImpl::OpenNextSegment() {
  OWSYNC_ASSIGN_OR_RETURN(std::vector<SegmentFile> files, dir_.ListSegments(fs_));
  for (const SegmentFile& f : files) {
    if (f.first_offset == expected_) return OpenSegment(f);
  }
  OWSYNC_RETURN_IF_ERROR(CheckStillSameOutbox());
  if (!files.empty() && files.front().first_offset > expected_) {
    return Status::FailedPrecondition("outbox " + dir_.path() + ": offset " +
                                      std::to_string(expected_) +
                                      " was deleted by retention while this reader was behind");
  }
  return Status::Corruption(dir_.path() + ": gap: no segment starts at offset " +
                            std::to_string(expected_) + " after " + seg_->path());
}

Status OutboxReaderImpl::CheckStillSameOutbox() {
  OWSYNC_ASSIGN_OR_RETURN(Identity now, IdentityFile::Read(fs_, dir_.IdentityPath()));
  if (now.outbox_id != identity_.outbox_id) {
    return Status::FailedPrecondition("outbox " + dir_.path() + " was replaced: it is now " +
                                      now.outbox_id + " (was " + identity_.outbox_id +
                                      "); reopen the reader");
  }
  return Status::OK();
}

Status OutboxReaderImpl::CheckStartNotPastEnd() {
  if (want_ <= expected_) return Status::OK();
  return Status::FailedPrecondition("outbox " + dir_.path() + " (id " + identity_.outbox_id +
                                    ") ends at offset " + std::to_string(expected_ - 1) +
                                    ", below the start offset " + std::to_string(want_) +
                                    ": records written there later would be skipped");
}

Result<bool> OutboxReaderImpl::IsLastSegment() {
  if (!seg_is_last_) {
    OWSYNC_ASSIGN_OR_RETURN(std::vector<SegmentFile> files, dir_.ListSegments(fs_));
    seg_is_last_ = files.empty() || files.back().first_offset <= seg_->header().first_offset;
  }
  return *seg_is_last_;
}

Result<uint64_t> OutboxReaderImpl::RefreshWatermark() {
  if (!broken_.ok()) return broken_;
  OWSYNC_ASSIGN_OR_RETURN(std::optional<Watermark> w, Watermark::Read(fs_, dir_.DurablePath()));
  if (w && w->id_hash != id_hash_) {
    // Either our outbox was replaced (error) or DURABLE was not yet started over for it.
    Status same = CheckStillSameOutbox();
    if (!same.ok()) return Fail(same);
    w.reset();
  }
  if (w && wm_ && w->durable_offset < wm_->durable_offset) {
    // Durable data never shrinks: the directory was put back from an older copy.
    return Fail(Status::FailedPrecondition(
        "outbox " + dir_.path() + ": the durable offset went back from " +
        std::to_string(wm_->durable_offset) + " to " + std::to_string(w->durable_offset) +
        " (was the outbox restored from a copy?); reopen the reader"));
  }
  if (w) wm_ = w;
  return wm_ ? wm_->durable_offset : 0;
}

Result<bool> OutboxReaderImpl::Next(Record* record) {
  if (!broken_.ok()) return broken_;
  while (true) {
    if (!rest_.empty()) {
      std::string_view body;
      Status s = NextFramedRecord(&rest_, &body);
      const uint64_t offset = block_next_++;
      if (s.ok() && offset >= block_end_)
        s = Status::Corruption("more records than the header says");
      if (s.ok() && offset < want_) continue;
      if (s.ok()) s = DecodeRecord(body, record);
      if (!s.ok()) {
        return Fail(seg_->CorruptionAt(
            block_pos_, "record at offset " + std::to_string(offset) + ": " + s.message()));
      }
      fingerprint_ = RecordFingerprint(body);
      record->offset = offset;
      want_ = offset + 1;
      return true;
    }
    if (block_next_ != block_end_) {
      return Fail(seg_->CorruptionAt(block_pos_, "block holds fewer records than its header says"));
    }
    auto loaded = LoadNextBlock();
    if (!loaded.ok()) return Fail(loaded.status());
    if (!*loaded) return false;
  }
}

Result<bool> OutboxReaderImpl::LoadNextBlock() {
  while (true) {
    uint64_t limit = 0;
    bool sealed = false;
    if (options_.ignore_watermark) {
      OWSYNC_ASSIGN_OR_RETURN(const bool last, IsLastSegment());
      sealed = !last;
      OWSYNC_ASSIGN_OR_RETURN(limit, seg_->FileSize());
    } else {
      if (!wm_) {
        OWSYNC_ASSIGN_OR_RETURN(const uint64_t ignored, RefreshWatermark());
        (void)ignored;
        if (!wm_) return false;  // nothing is known durable yet
      }
      const uint64_t first = seg_->header().first_offset;
      if (first > wm_->segment_first_offset) {
        const uint64_t before = wm_->durable_offset;
        OWSYNC_ASSIGN_OR_RETURN(const uint64_t now, RefreshWatermark());
        if (now == before) return false;
        continue;
      }
      sealed = first < wm_->segment_first_offset;
      if (sealed) {
        OWSYNC_ASSIGN_OR_RETURN(limit, seg_->FileSize());
      } else {
        limit = wm_->segment_position;
      }
    }

    OWSYNC_ASSIGN_OR_RETURN(BlockAt at, seg_->ReadBlockHeader(pos_, limit));
    if (at.state == BlockState::kEnd) {
      if (sealed) {
        OWSYNC_RETURN_IF_ERROR(OpenNextSegment());
        continue;
      }
      if (options_.ignore_watermark) {
        OWSYNC_RETURN_IF_ERROR(CheckStartNotPastEnd());
        seg_is_last_.reset();  // the writer may have rotated meanwhile: look again next time
        return false;
      }
      if (expected_ <= wm_->durable_offset) {
        return seg_->CorruptionAt(
            pos_, "the durable watermark says offset " + std::to_string(wm_->durable_offset) +
                      " is durable, but the data ends at offset " + std::to_string(expected_ - 1));
      }
      OWSYNC_RETURN_IF_ERROR(CheckStartNotPastEnd());
      const uint64_t before = wm_->durable_offset;
      OWSYNC_ASSIGN_OR_RETURN(const uint64_t now, RefreshWatermark());
      if (now == before) return false;
      continue;
    }
    if (at.state != BlockState::kOk) {
      if (!sealed && options_.ignore_watermark) {
        OWSYNC_ASSIGN_OR_RETURN(const bool valid_after,
                                seg_->HasValidBlockAfter(pos_ + 1, limit, expected_));
        if (!valid_after) return false;  // a torn tail: the end of what was written
      }
      return seg_->CorruptionAt(pos_, at.problem);
    }
    if (at.header.first_offset != expected_) {
      return seg_->CorruptionAt(pos_, "block starts at offset " +
                                          std::to_string(at.header.first_offset) + ", expected " +
                                          std::to_string(expected_));
    }
    if (!options_.ignore_watermark && at.header.end_offset() - 1 > wm_->durable_offset) {
      return seg_->CorruptionAt(pos_,
                                "block below the durable watermark's position holds "
                                "offsets past its durable offset " +
                                    std::to_string(wm_->durable_offset));
    }
    const uint64_t block_pos = pos_;
    pos_ = at.next;
    expected_ = at.header.end_offset();
    if (at.header.end_offset() <= want_) continue;  // entirely below from_offset: skip unread
    Status s = seg_->ReadRecords(block_pos, at.header, &block_);
    if (!s.ok()) {
      if (s.IsCorruption() && !sealed && options_.ignore_watermark) {
        OWSYNC_ASSIGN_OR_RETURN(const bool valid_after,
                                seg_->HasValidBlockAfter(block_pos + 1, limit, expected_));
        if (!valid_after) return false;
      }
      return s;
    }
    rest_ = block_;
    block_pos_ = block_pos;
    block_next_ = at.header.first_offset;
    block_end_ = at.header.end_offset();
    return true;
  }
}

}  // namespace

Result<std::unique_ptr<OutboxReader>> OutboxReader::Open(FileSystem* fs, const std::string& dir,
                                                         uint64_t from_offset) {
  return Open(fs, dir, from_offset, OutboxReaderOptions{});
}

Result<std::unique_ptr<OutboxReader>> OutboxReader::Open(FileSystem* fs, const std::string& dir,
                                                         uint64_t from_offset,
                                                         const OutboxReaderOptions& options) {
  auto reader = std::make_unique<OutboxReaderImpl>(fs, dir, options);
  OWSYNC_RETURN_IF_ERROR(reader->Init(from_offset));
  return std::unique_ptr<OutboxReader>(std::move(reader));
}

}  // namespace owsync::outbox
