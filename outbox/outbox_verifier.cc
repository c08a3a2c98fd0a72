#include "outbox/outbox_verifier.h"

#include <map>
#include <memory>

#include "outbox/identity_file.h"
#include "outbox/outbox_dir.h"
#include "outbox/record_codec.h"
#include "outbox/segment_reader.h"

namespace owsync::outbox {
namespace {

// One verification pass. Problems end it through Fail(); I/O errors come back as Status.
class Pass {
 public:
  Pass(FileSystem* fs, const std::string& dir) : fs_(fs), dir_(dir) {}

  Status Run(VerifyReport* report);

 private:
  Status Check(VerifyReport* report);
  Status CheckSegment(const SegmentFile& file, bool last, VerifyReport* report);
  Status CheckBlockRecords(SegmentReader* seg, uint64_t pos, const BlockHeader& h);
  void CheckWatermark(VerifyReport* report);
  void CheckAcked(VerifyReport* report);
  void Fail(std::string what) {
    if (error_.empty()) error_ = std::move(what);
  }

  FileSystem* fs_;
  OutboxDir dir_;
  Identity identity_;
  uint64_t expected_ = 0;  // offset the next block must start with
  std::string error_;
  std::string raw_;
  // Block boundaries of the segment the watermark names: byte position -> offset after it.
  std::map<uint64_t, uint64_t> boundaries_;
  bool watermark_segment_seen_ = false;
};

Status Pass::Run(VerifyReport* report) {
  OWSYNC_RETURN_IF_ERROR(Check(report));
  report->ok = error_.empty();
  report->error = error_;
  return Status::OK();
}

Status Pass::Check(VerifyReport* report) {
  auto identity = IdentityFile::Read(fs_, dir_.IdentityPath());
  if (!identity.ok()) {
    if (identity.status().IsNotFound()) {
      Fail(dir_.IdentityPath() + ": missing (not an outbox, or its creation never finished)");
      return Status::OK();
    }
    if (!identity.status().IsCorruption()) return identity.status();
    Fail(identity.status().message());
    return Status::OK();
  }
  identity_ = std::move(identity).value();
  report->outbox_id = identity_.outbox_id;
  report->database_generation = identity_.database_generation;

  // The watermark is read before the listing, so every byte it names is in a listed file.
  OWSYNC_ASSIGN_OR_RETURN(std::optional<Watermark> w, Watermark::Read(fs_, dir_.DurablePath()));
  if (!w) {
    report->notes.push_back(dir_.DurablePath() +
                            ": no valid watermark (the writer was not reopened since a crash, "
                            "or is starting the file over); the tail is checked without it");
  } else if (w->id_hash != IdentityFile::Hash(identity_.outbox_id)) {
    report->notes.push_back(dir_.DurablePath() +
                            ": watermark of another outbox id (the writer was not reopened "
                            "since the generation changed); ignored");
  } else {
    report->watermark = w;
  }

  OWSYNC_ASSIGN_OR_RETURN(std::vector<SegmentFile> files, dir_.ListSegments(fs_));
  size_t k = 0;
  for (; k < files.size(); ++k) {
    auto seg = SegmentReader::Open(fs_, files[k].path);
    if (!seg.ok()) {
      if (!seg.status().IsCorruption()) return seg.status();
      break;  // reported by CheckSegment below
    }
    if ((*seg)->header().outbox_id == identity_.outbox_id) break;
    report->notes.push_back(files[k].path + ": segment of older outbox " +
                            (*seg)->header().outbox_id +
                            " (a generation switch is moving it to retired/)");
  }
  if (k == files.size()) {
    Fail(dir_.path() + ": no segment file of outbox " + identity_.outbox_id);
    return Status::OK();
  }
  report->first_offset = files[k].first_offset;
  expected_ = files[k].first_offset;
  for (size_t i = k; i < files.size() && error_.empty(); ++i) {
    OWSYNC_RETURN_IF_ERROR(CheckSegment(files[i], i + 1 == files.size(), report));
  }
  report->last_offset = expected_ - 1;
  if (error_.empty()) CheckWatermark(report);
  if (error_.empty()) CheckAcked(report);
  return Status::OK();
}

Status Pass::CheckSegment(const SegmentFile& file, bool last, VerifyReport* report) {
  auto opened = SegmentReader::Open(fs_, file.path);
  if (!opened.ok()) {
    if (!opened.status().IsCorruption()) return opened.status();
    Fail(opened.status().message());
    return Status::OK();
  }
  std::unique_ptr<SegmentReader> seg = std::move(opened).value();
  const SegmentHeader& h = seg->header();
  ++report->segments;
  if (h.first_offset != file.first_offset) {
    Fail(file.path + ": byte 16: header says first offset " + std::to_string(h.first_offset) +
         ", the file name says " + std::to_string(file.first_offset));
    return Status::OK();
  }
  if (h.outbox_id != identity_.outbox_id ||
      h.database_generation != identity_.database_generation) {
    Fail(file.path + ": byte 24: header names outbox " + h.outbox_id + " generation \"" +
         h.database_generation + "\", IDENTITY says " + identity_.outbox_id + " generation \"" +
         identity_.database_generation + "\"");
    return Status::OK();
  }
  if (h.first_offset != expected_) {
    Fail(file.path + ": gap: segment starts at offset " + std::to_string(h.first_offset) +
         ", the previous one ended before offset " + std::to_string(expected_));
    return Status::OK();
  }
  const std::optional<Watermark>& w = report->watermark;
  const bool wm_here = w && w->segment_first_offset == h.first_offset;
  if (wm_here) {
    watermark_segment_seen_ = true;
    boundaries_[seg->data_start()] = expected_;
  }
  OWSYNC_ASSIGN_OR_RETURN(const uint64_t size, seg->FileSize());
  uint64_t pos = seg->data_start();
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(BlockAt at, seg->ReadBlockHeader(pos, size));
    if (at.state == BlockState::kEnd) return Status::OK();
    std::string problem = at.problem;
    if (at.state == BlockState::kOk) {
      if (at.header.first_offset != expected_) {
        problem = "block starts at offset " + std::to_string(at.header.first_offset) +
                  ", expected " + std::to_string(expected_);
      } else {
        Status s = CheckBlockRecords(seg.get(), pos, at.header);
        if (!s.ok() && !s.IsCorruption()) return s;
        if (s.ok()) {
          ++report->blocks;
          report->records += at.header.record_count;
          expected_ = at.header.end_offset();
          pos = at.next;
          if (wm_here) boundaries_[pos] = expected_;
          continue;
        }
        problem = s.message();
      }
    }
    const std::string where = file.path + ": byte " + std::to_string(pos) + ": ";
    const std::string what = problem.rfind(file.path, 0) == 0 ? problem : where + problem;
    if (!last) {
      Fail(what + " (in a sealed segment)");
    } else if (wm_here && pos < w->segment_position) {
      Fail(what + " (below the durable watermark)");
    } else {
      OWSYNC_ASSIGN_OR_RETURN(const bool valid_after,
                              seg->HasValidBlockAfter(pos + 1, size, expected_));
      if (valid_after) {
        Fail(what + " (valid blocks follow: not a torn tail)");
      } else {
        report->notes.push_back(where + "torn tail of " + std::to_string(size - pos) +
                                " bytes past the durable data (" + problem +
                                "); the writer truncates it when it next opens");
      }
    }
    return Status::OK();
  }
}

Status Pass::CheckBlockRecords(SegmentReader* seg, uint64_t pos, const BlockHeader& h) {
  OWSYNC_RETURN_IF_ERROR(seg->ReadRecords(pos, h, &raw_));
  std::string_view rest = raw_;
  Record rec;
  for (uint32_t i = 0; i < h.record_count; ++i) {
    std::string_view body;
    Status s = NextFramedRecord(&rest, &body);
    if (s.ok()) s = DecodeRecord(body, &rec);
    if (!s.ok()) {
      return seg->CorruptionAt(
          pos, "record at offset " + std::to_string(h.first_offset + i) + ": " + s.message());
    }
  }
  if (!rest.empty()) {
    return seg->CorruptionAt(pos, std::to_string(rest.size()) + " bytes after the block's " +
                                      std::to_string(h.record_count) + " records");
  }
  return Status::OK();
}

void Pass::CheckWatermark(VerifyReport* report) {
  const std::optional<Watermark>& w = report->watermark;
  if (!w) return;
  const std::string name = dir_.DurablePath() + ": watermark (offset " +
                           std::to_string(w->durable_offset) + ", segment " +
                           std::to_string(w->segment_first_offset) + ", byte " +
                           std::to_string(w->segment_position) + ")";
  if (!watermark_segment_seen_) {
    Fail(name + " names a segment that does not exist");
    return;
  }
  auto it = boundaries_.find(w->segment_position);
  if (it == boundaries_.end()) {
    Fail(name + " is not at the end of a valid block: durable data is missing or damaged");
  } else if (it->second - 1 != w->durable_offset) {
    Fail(name + " disagrees with the data, which holds offsets up to " +
         std::to_string(it->second - 1) + " at that byte");
  }
}

void Pass::CheckAcked(VerifyReport* report) {
  auto acked = AckedFile::Read(fs_, dir_.path());
  if (!acked.ok()) {
    if (!acked.status().IsNotFound()) Fail(acked.status().message());
    return;
  }
  report->acked = *acked;
  if (acked->outbox_id != identity_.outbox_id) {
    report->notes.push_back(dir_.AckedPath() + ": acknowledges outbox " + acked->outbox_id +
                            ", not this one (the shipper has not rebased yet)");
    return;
  }
  if (acked->acked_offset > report->last_offset) {
    Fail(dir_.AckedPath() + ": acknowledges offset " + std::to_string(acked->acked_offset) +
         " but the outbox ends at " + std::to_string(report->last_offset));
  } else if (report->first_offset > acked->acked_offset + 1) {
    Fail(dir_.AckedPath() + ": acknowledges only up to offset " +
         std::to_string(acked->acked_offset) + " but the first retained offset is " +
         std::to_string(report->first_offset) + ": unacknowledged records were deleted");
  }
}

}  // namespace

Result<VerifyReport> OutboxVerifier::Verify(FileSystem* fs, const std::string& dir) {
  OWSYNC_ASSIGN_OR_RETURN(const std::vector<std::string> children, fs->GetChildren(dir));
  (void)children;  // NotFound for a missing directory
  // A segment deleted by retention (or retired) between listing and reading: try again.
  Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    VerifyReport report;
    Pass pass(fs, dir);
    last = pass.Run(&report);
    if (last.ok()) return report;
    if (!last.IsNotFound()) return last;
  }
  return last;
}

}  // namespace owsync::outbox
