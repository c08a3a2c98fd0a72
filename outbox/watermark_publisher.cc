#include "outbox/watermark_publisher.h"

#include "outbox/format.h"

namespace owsync::outbox {

Result<std::unique_ptr<WatermarkPublisher>> WatermarkPublisher::Create(FileSystem* fs,
                                                                       std::string path,
                                                                       const Watermark& first) {
  std::unique_ptr<WatermarkPublisher> p(new WatermarkPublisher(fs, std::move(path)));
  OWSYNC_RETURN_IF_ERROR(p->StartOver(first));
  return p;
}

Status WatermarkPublisher::StartOver(const Watermark& w) {
  if (file_) {
    Status closed = file_->Close();
    file_.reset();
    OWSYNC_RETURN_IF_ERROR(closed);
  }
  OWSYNC_ASSIGN_OR_RETURN(file_, fs_->NewWritableFile(path_));
  Status s = file_->Append(w.EncodeSlot());
  if (!s.ok()) {
    file_.reset();  // a partial slot would misalign the next ones: start over next time
    return s;
  }
  last_ = w;
  return Status::OK();
}

Status WatermarkPublisher::Publish(const Watermark& w) {
  if (!file_ || file_->Size() + format::kDurableSlotBytes > format::kDurableFileMaxBytes) {
    return StartOver(w);
  }
  Status s = file_->Append(w.EncodeSlot());
  if (!s.ok()) {
    file_.reset();
    return s;
  }
  last_ = w;
  return Status::OK();
}

}  // namespace owsync::outbox
