#include "outbox/outbox_stats.h"

#include <memory>

#include "outbox/identity_file.h"
#include "outbox/outbox_dir.h"
#include "outbox/segment_reader.h"

namespace owsync::outbox {

Result<OutboxStatsReport> OutboxStats::Collect(FileSystem* fs, const std::string& dir) {
  const OutboxDir od(dir);
  OutboxStatsReport r;
  OWSYNC_ASSIGN_OR_RETURN(Identity identity, IdentityFile::Read(fs, od.IdentityPath()));
  r.outbox_id = identity.outbox_id;
  r.database_generation = identity.database_generation;
  OWSYNC_ASSIGN_OR_RETURN(std::optional<Watermark> w, Watermark::Read(fs, od.DurablePath()));
  if (w && w->id_hash == IdentityFile::Hash(identity.outbox_id)) r.watermark = w;
  auto acked = AckedFile::Read(fs, dir);
  if (acked.ok()) {
    r.acked = *acked;
  } else if (!acked.status().IsNotFound()) {
    r.notes.push_back(acked.status().ToString());
  }

  OWSYNC_ASSIGN_OR_RETURN(std::vector<SegmentFile> files, od.ListSegments(fs));
  bool first = true;
  for (const SegmentFile& f : files) {
    auto seg = SegmentReader::Open(fs, f.path);
    if (!seg.ok()) {
      if (seg.status().IsNotFound()) continue;  // deleted by retention meanwhile
      r.notes.push_back(seg.status().message());
      continue;
    }
    if ((*seg)->header().outbox_id != identity.outbox_id) {
      r.notes.push_back(f.path + ": segment of outbox " + (*seg)->header().outbox_id);
      continue;
    }
    if (first) r.first_offset = f.first_offset;
    first = false;
    ++r.segments;
    OWSYNC_ASSIGN_OR_RETURN(const uint64_t size, (*seg)->FileSize());
    r.bytes_on_disk += size;
    r.last_offset = f.first_offset - 1;
    for (uint64_t pos = (*seg)->data_start();;) {
      OWSYNC_ASSIGN_OR_RETURN(BlockAt at, (*seg)->ReadBlockHeader(pos, size));
      if (at.state == BlockState::kEnd) break;
      if (at.state != BlockState::kOk) {
        r.notes.push_back(f.path + ": byte " + std::to_string(pos) + ": " + at.problem +
                          " (`owsync outbox verify` tells whether this is a torn tail)");
        break;
      }
      ++r.blocks;
      r.records += at.header.record_count;
      r.stored_payload_bytes += at.header.stored_bytes;
      r.raw_payload_bytes += at.header.raw_bytes;
      r.last_offset = at.header.end_offset() - 1;
      pos = at.next;
    }
  }

  auto retired = fs->GetChildren(od.RetiredDir());
  if (retired.ok()) {
    for (const std::string& id : *retired) {
      ++r.retired_generations;
      auto segs = OutboxDir(od.RetiredDir(id)).ListSegments(fs);
      if (!segs.ok()) continue;
      for (const SegmentFile& s : *segs) {
        auto size = fs->GetFileSize(s.path);
        if (size.ok()) r.retired_bytes += *size;
      }
    }
  }
  return r;
}

}  // namespace owsync::outbox
