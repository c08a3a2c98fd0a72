// WatermarkPublisher: the writer's side of DURABLE. Owned by the outbox writer (which holds the
// lock). Publish() appends one slot; every few dozen slots the file is started over (truncated,
// one slot written), so it never grows past format::kDurableFileMaxBytes. No fsync: a slot only
// ever names data that was already fsynced (see outbox/format.h).
#ifndef OWSYNC_OUTBOX_WATERMARK_PUBLISHER_H_
#define OWSYNC_OUTBOX_WATERMARK_PUBLISHER_H_

#include <memory>
#include <string>

#include "outbox/watermark.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::outbox {

class WatermarkPublisher {
 public:
  // Starts DURABLE at `path` over with `first` as its only slot.
  static Result<std::unique_ptr<WatermarkPublisher>> Create(FileSystem* fs, std::string path,
                                                            const Watermark& first);
  [[nodiscard]] Status Publish(const Watermark& w);
  const Watermark& last() const { return last_; }

 private:
  WatermarkPublisher(FileSystem* fs, std::string path) : fs_(fs), path_(std::move(path)) {}
  [[nodiscard]] Status StartOver(const Watermark& w);

  FileSystem* fs_;
  std::string path_;
  std::unique_ptr<WritableFile> file_;
  Watermark last_;
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_WATERMARK_PUBLISHER_H_
