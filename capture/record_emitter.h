// RecordEmitter: the capture's one path into the outbox. Wraps the OutboxWriter (not owned) and
// keeps what the records need around the data: a kSchema record before a table's first row in
// this writer session and whenever its columns change, and the changelog high-water mark
// (the highest seq capture has seen in the database) carried as source_seq by schema and
// snapshot begin/end records, so that a restarted capture can compare the outbox's position
// with the database's changelog counter (see GenerationGuard). Every record also carries the
// drain token in force (capture_token; see DrainToken and docs/capture.md): the token of the
// last database read whose rows were appended, so that the outbox tail names the point of the
// database's timeline it has followed up to.
//
// Errors from the writer are returned unchanged; after one, the writer must be reopened
// (OutboxWriter contract) and Reset() called: what was appended but not committed is gone.
#ifndef OWSYNC_CAPTURE_RECORD_EMITTER_H_
#define OWSYNC_CAPTURE_RECORD_EMITTER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "capture/table_info.h"
#include "outbox/outbox_writer.h"
#include "outbox/record.h"
#include "util/result.h"
#include "util/status.h"

namespace owsync::capture {

class RecordEmitter {
 public:
  explicit RecordEmitter(outbox::OutboxWriter* writer) : writer_(writer) {}

  // Appends a kSchema record for `table` unless its current columns were the last announced.
  [[nodiscard]] Status EnsureSchema(const TableInfo& table);
  // Appends a data record (kUpsert/kDelete), announcing the table's schema first if needed.
  Result<uint64_t> AppendData(const TableInfo& table, outbox::Record* record);
  // Appends kSnapshotBegin / kSnapshotEnd (source_seq = high water). Returns the offset.
  Result<uint64_t> AppendSnapshotBegin(const TableInfo& table);
  Result<uint64_t> AppendSnapshotEnd(const std::string& table, uint64_t begin_offset);
  // Appends a kVerify record (outbox/verify_range.h) for `table` (source_seq = high water),
  // announcing the table's schema first if needed.
  Result<uint64_t> AppendVerify(const TableInfo& table, outbox::Record* record);
  // Makes everything appended durable (write + fsync + watermark).
  [[nodiscard]] Status Commit();

  // Raises the high-water mark (never lowers it).
  void NoteSeq(int64_t seq) {
    if (seq > high_water_) high_water_ = seq;
  }
  int64_t high_water() const { return high_water_; }
  // Forgets what was announced and sets the high water (new writer or new generation).
  void Reset(outbox::OutboxWriter* writer, int64_t high_water);

  // Drain tokens. token(): stamped on every record appended from now on; committed_token():
  // the token of the last record made durable by Commit() ("" when none since Reset).
  const std::string& token() const { return token_; }
  const std::string& committed_token() const { return committed_token_; }
  // Records appended since the last Commit() carry a token that is not durable yet.
  bool has_unsettled_token() const {
    return uncommitted_ > 0 && last_appended_token_ != committed_token_;
  }
  // Resuming an outbox whose last durable record carries `token`.
  void ResumeTokens(const std::string& token) { token_ = committed_token_ = token; }
  // A database read under the freshly rotated `token` begins (see DrainToken::Rotate).
  void BeginBatch(const std::string& token);
  // The read's database transaction failed after BeginBatch: its rotation is undone, so
  // records appended under its token must never become durable. If there are any, the writer
  // is marked failed (reopening it drops them); otherwise the previous token is restored.
  void AbortBatch();

  // True once a writer call failed (the writer must be reopened; see the file comment).
  bool failed() const { return failed_; }
  outbox::OutboxWriter* writer() const { return writer_; }
  uint64_t buffered_bytes() const { return writer_ ? writer_->buffered_bytes() : 0; }
  uint64_t records_appended() const { return records_appended_; }

 private:
  Result<uint64_t> Append(outbox::Record* record);

  outbox::OutboxWriter* writer_;
  bool failed_ = false;
  std::map<std::string, std::vector<outbox::Column>> announced_;
  int64_t high_water_ = 0;
  uint64_t records_appended_ = 0;
  uint64_t uncommitted_ = 0;  // records appended since the last Commit()
  std::string token_;
  std::string committed_token_;
  std::string last_appended_token_;
  std::string batch_saved_token_;
  uint64_t batch_first_record_ = 0;  // records_appended_ at BeginBatch
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_RECORD_EMITTER_H_
