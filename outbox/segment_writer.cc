#include "outbox/segment_writer.h"

namespace owsync::outbox {

SegmentWriter::SegmentWriter(FileSystem* fs, std::string path, SegmentHeader header,
                             std::unique_ptr<WritableFile> file, uint64_t size,
                             uint64_t header_bytes)
    : fs_(fs),
      path_(std::move(path)),
      header_(std::move(header)),
      file_(std::move(file)),
      size_(size),
      synced_size_(0),
      header_bytes_(header_bytes) {}

SegmentWriter::~SegmentWriter() = default;

Result<std::unique_ptr<SegmentWriter>> SegmentWriter::Create(FileSystem* fs, const OutboxDir& dir,
                                                             const SegmentHeader& header) {
  const std::string path = dir.SegmentPath(header.first_offset);
  if (fs->FileExists(path)) return Status::AlreadyExists("segment exists: " + path);
  OWSYNC_ASSIGN_OR_RETURN(const std::string bytes, EncodeSegmentHeader(header));
  OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, fs->NewWritableFile(path));
  std::unique_ptr<SegmentWriter> w(
      new SegmentWriter(fs, path, header, std::move(file), 0, bytes.size()));
  OWSYNC_RETURN_IF_ERROR(w->file_->Append(bytes));
  w->size_ = bytes.size();
  OWSYNC_RETURN_IF_ERROR(w->Sync());
  OWSYNC_RETURN_IF_ERROR(fs->SyncDir(dir.path()));
  return w;
}

Result<std::unique_ptr<SegmentWriter>> SegmentWriter::Reopen(FileSystem* fs, std::string path,
                                                             const SegmentHeader& header,
                                                             uint64_t size, uint64_t header_bytes) {
  OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, fs->NewAppendableFile(path));
  if (file->Size() != size) {
    return Status::Internal(path + ": has " + std::to_string(file->Size()) +
                            " bytes, recovery expected " + std::to_string(size));
  }
  std::unique_ptr<SegmentWriter> w(
      new SegmentWriter(fs, std::move(path), header, std::move(file), size, header_bytes));
  OWSYNC_RETURN_IF_ERROR(w->Sync());
  return w;
}

Status SegmentWriter::AppendBlock(const BuiltBlock& block) {
  // Size follows the file even after a partial write, so TruncateToSynced knows what to cut.
  Status s = file_->Append(block.head);
  if (s.ok() && !block.tail.empty()) s = file_->Append(block.tail);
  size_ = file_->Size();
  // Let the device write this block while the next one is compressed: Sync() waits less.
  if (s.ok()) file_->StartWriteback();
  return s;
}

Status SegmentWriter::Sync() {
  OWSYNC_RETURN_IF_ERROR(file_->Sync());
  synced_size_ = size_;
  return Status::OK();
}

Status SegmentWriter::Close() { return file_->Close(); }

Status SegmentWriter::TruncateToSynced() {
  Status closed = file_->Close();
  (void)closed;  // the file is being cut back; a close error adds nothing
  OWSYNC_RETURN_IF_ERROR(fs_->Truncate(path_, synced_size_));
  size_ = synced_size_;
  return Status::OK();
}

}  // namespace owsync::outbox
