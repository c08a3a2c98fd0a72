#include "outbox/outbox_recovery.h"

#include <memory>

#include "outbox/format.h"
#include "outbox/segment_reader.h"

namespace owsync::outbox {
namespace {

struct Listed {
  SegmentFile file;
  std::unique_ptr<SegmentReader> reader;  // null: the header is not valid
  Status header_error;
  uint64_t size = 0;
};

}  // namespace

Status OutboxRecovery::RetireSegments(FileSystem* fs, const OutboxDir& dir,
                                      const std::vector<SegmentFile>& segments,
                                      const std::string& old_id) {
  if (segments.empty()) return Status::OK();
  const std::string target = dir.RetiredDir(old_id);
  OWSYNC_RETURN_IF_ERROR(fs->CreateDirs(target));
  OWSYNC_RETURN_IF_ERROR(fs->SyncDir(dir.path()));
  OWSYNC_RETURN_IF_ERROR(fs->SyncDir(dir.RetiredDir()));
  for (const SegmentFile& s : segments) {
    OWSYNC_RETURN_IF_ERROR(
        fs->RenameFile(s.path, JoinPath(target, OutboxDir::SegmentFileName(s.first_offset))));
  }
  OWSYNC_RETURN_IF_ERROR(fs->SyncDir(target));
  return fs->SyncDir(dir.path());
}

Result<RecoveredSegment> OutboxRecovery::RecoverActiveSegment(FileSystem* fs,
                                                              const std::string& path,
                                                              Logger* logger) {
  OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<SegmentReader> reader, SegmentReader::Open(fs, path));
  OWSYNC_ASSIGN_OR_RETURN(const uint64_t file_size, reader->FileSize());
  RecoveredSegment out;
  out.path = path;
  out.header = reader->header();
  out.header_bytes = reader->data_start();
  uint64_t pos = reader->data_start();
  uint64_t expected = reader->header().first_offset;
  std::string payload;
  std::string problem;
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(BlockAt at, reader->ReadBlockHeader(pos, file_size));
    if (at.state == BlockState::kEnd) break;
    if (at.state != BlockState::kOk) {
      problem = at.problem;
      break;
    }
    if (at.header.first_offset != expected) {
      // A whole block with a valid header crc is no torn write: the offsets do not continue.
      return reader->CorruptionAt(pos, "block starts at offset " +
                                           std::to_string(at.header.first_offset) + ", expected " +
                                           std::to_string(expected));
    }
    Status s = reader->ReadPayload(pos, at.header, &payload);
    if (!s.ok()) {
      if (!s.IsCorruption()) return s;
      problem = s.message();
      break;
    }
    pos = at.next;
    expected = at.header.end_offset();
  }
  out.size = pos;
  out.next_offset = expected;
  if (pos == file_size) return out;

  // Something unusable at `pos`: a torn tail only if no valid block follows it.
  OWSYNC_ASSIGN_OR_RETURN(const bool valid_after,
                          reader->HasValidBlockAfter(pos + 1, file_size, expected));
  if (valid_after) {
    return reader->CorruptionAt(pos, problem + " (valid blocks follow: not a torn tail)");
  }
  OWSYNC_RETURN_IF_ERROR(fs->Truncate(path, pos));
  out.truncated_bytes = file_size - pos;
  if (logger != nullptr) {
    logger->Warn("outbox: truncated torn tail of {} bytes at byte {} of {} ({})",
                 out.truncated_bytes, pos, path, problem);
  }
  return out;
}

Result<RecoveredSegment> OutboxRecovery::Run(FileSystem* fs, const OutboxDir& dir,
                                             const Identity& identity, Logger* logger) {
  OWSYNC_ASSIGN_OR_RETURN(std::vector<SegmentFile> files, dir.ListSegments(fs));
  if (files.empty()) {
    return Status::Corruption(dir.IdentityPath() +
                              " exists but there is no segment file: records were removed "
                              "outside owsync");
  }
  std::vector<Listed> segs;
  for (const SegmentFile& f : files) {
    Listed l;
    l.file = f;
    OWSYNC_ASSIGN_OR_RETURN(l.size, fs->GetFileSize(f.path));
    auto r = SegmentReader::Open(fs, f.path);
    if (r.ok()) {
      l.reader = std::move(r).value();
    } else if (r.status().IsCorruption()) {
      l.header_error = r.status();
    } else {
      return r.status();
    }
    segs.push_back(std::move(l));
  }

  // A last segment whose header never became durable (crash while creating it) holds nothing.
  bool torn_last = false;
  if (segs.size() > 1 && !segs.back().reader) {
    OWSYNC_ASSIGN_OR_RETURN(torn_last, SegmentReader::HasTornHeader(fs, segs.back().file.path));
  }
  if (torn_last) {
    if (logger != nullptr) {
      logger->Warn("outbox: removing {} with a torn header ({})", segs.back().file.path,
                   segs.back().header_error.message());
    }
    OWSYNC_RETURN_IF_ERROR(fs->DeleteFile(segs.back().file.path));
    OWSYNC_RETURN_IF_ERROR(fs->SyncDir(dir.path()));
    segs.pop_back();
  }
  for (const Listed& l : segs) {
    if (!l.reader) return l.header_error;
    if (l.reader->header().first_offset != l.file.first_offset) {
      return l.reader->CorruptionAt(
          16, "header says first offset " + std::to_string(l.reader->header().first_offset) +
                  ", the file name says " + std::to_string(l.file.first_offset));
    }
  }

  // A new generation's first segment that IDENTITY never adopted (crash inside
  // StartNewGeneration before IDENTITY was replaced): it is header-only; remove it.
  const Listed& last = segs.back();
  if (segs.size() > 1 && last.reader->header().outbox_id != identity.outbox_id &&
      last.size == last.reader->data_start()) {
    if (logger != nullptr) {
      logger->Warn("outbox: removing {} of unadopted outbox id {}", last.file.path,
                   last.reader->header().outbox_id);
    }
    OWSYNC_RETURN_IF_ERROR(fs->DeleteFile(last.file.path));
    OWSYNC_RETURN_IF_ERROR(fs->SyncDir(dir.path()));
    segs.pop_back();
  }

  // Leading segments of an older generation (crash while retiring them): finish the move.
  size_t k = 0;
  while (k < segs.size() && segs[k].reader->header().outbox_id != identity.outbox_id) ++k;
  if (k == segs.size()) {
    return Status::Corruption("no segment in " + dir.path() + " belongs to outbox " +
                              identity.outbox_id + " named by IDENTITY");
  }
  for (size_t i = k; i < segs.size(); ++i) {
    if (segs[i].reader->header().outbox_id != identity.outbox_id) {
      return segs[i].reader->CorruptionAt(24, "segment of outbox " +
                                                  segs[i].reader->header().outbox_id +
                                                  " inside outbox " + identity.outbox_id);
    }
    if (segs[i].reader->header().database_generation != identity.database_generation) {
      return segs[i].reader->CorruptionAt(
          24, "segment of database generation \"" + segs[i].reader->header().database_generation +
                  "\", IDENTITY says \"" + identity.database_generation + "\"");
    }
  }
  for (size_t i = 0; i < k;) {
    const std::string old_id = segs[i].reader->header().outbox_id;
    std::vector<SegmentFile> batch;
    while (i < k && segs[i].reader->header().outbox_id == old_id) batch.push_back(segs[i++].file);
    if (logger != nullptr) {
      logger->Warn("outbox: finishing the retirement of {} segment(s) of outbox {}", batch.size(),
                   old_id);
    }
    OWSYNC_RETURN_IF_ERROR(RetireSegments(fs, dir, batch, old_id));
  }

  const std::string active = segs.back().file.path;
  segs.clear();  // close the readers before the active segment may be truncated
  return RecoverActiveSegment(fs, active, logger);
}

}  // namespace owsync::outbox
