#include "outbox/acked_check.h"

#include "outbox/outbox_dir.h"
#include "outbox/outbox_reader.h"
#include "outbox/record_fingerprint.h"
#include "outbox/watermark.h"

namespace owsync::outbox {

Result<AckedCheckResult> AckedCheck::Run(FileSystem* fs, const std::string& dir,
                                         uint64_t acked_offset, const std::string& fingerprint) {
  AckedCheckResult result;
  if (acked_offset == 0) return result;
  OutboxReaderOptions options;
  options.ignore_watermark = true;
  OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<OutboxReader> first,
                          OutboxReader::Open(fs, dir, 0, options));
  result.first_retained = first->first_retained_offset();
  if (acked_offset < result.first_retained) {
    result.verdict = AckedVerdict::kNotRetained;
    return result;
  }
  OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<OutboxReader> reader,
                          OutboxReader::Open(fs, dir, acked_offset, options));
  Record record;
  Result<bool> next = reader->Next(&record);
  if (!next.ok() && next.status().code() != StatusCode::kFailedPrecondition) return next.status();
  if (!next.ok() || !*next) {
    // Past the end of the data. Where it ends, for the message: the published watermark.
    OWSYNC_ASSIGN_OR_RETURN(std::optional<Watermark> w,
                            Watermark::Read(fs, OutboxDir(dir).DurablePath()));
    result.verdict = AckedVerdict::kBeyondEnd;
    result.data_end = w ? w->durable_offset : 0;
    return result;
  }
  if (record.offset != acked_offset) {
    return Status::Corruption("outbox " + dir + ": asked for offset " +
                              std::to_string(acked_offset) + ", read offset " +
                              std::to_string(record.offset));
  }
  if (!fingerprint.empty() && FingerprintHex(reader->fingerprint()) != fingerprint) {
    result.verdict = AckedVerdict::kDiffers;
    result.found_fingerprint = FingerprintHex(reader->fingerprint());
  }
  return result;
}

std::string AckedCheck::Describe(const AckedCheckResult& r, uint64_t acked_offset,
                                 const std::string& outbox_id, const std::string& fingerprint) {
  const std::string acked =
      "PostgreSQL acknowledged offset " + std::to_string(acked_offset) + " of outbox " + outbox_id;
  switch (r.verdict) {
    case AckedVerdict::kHeld:
      return acked + ", which the outbox holds";
    case AckedVerdict::kNotRetained:
      return acked + ", which the outbox no longer holds (it begins at offset " +
             std::to_string(r.first_retained) + ")";
    case AckedVerdict::kBeyondEnd:
      return acked + ", but the outbox ends at offset " + std::to_string(r.data_end);
    case AckedVerdict::kDiffers:
      return acked + " (record fingerprint " + fingerprint +
             "), but the outbox holds another record there (fingerprint " + r.found_fingerprint +
             ")";
  }
  return acked;
}

}  // namespace owsync::outbox
