#include "capture/record_emitter.h"

namespace owsync::capture {

Result<uint64_t> RecordEmitter::Append(outbox::Record* record) {
  if (writer_ == nullptr || failed_) return Status::Unavailable("the outbox writer is not open");
  record->capture_token = token_;
  auto offset = writer_->Append(record);
  if (!offset.ok()) {
    failed_ = true;
    return offset.status().WithContext("outbox append");
  }
  ++records_appended_;
  ++uncommitted_;
  last_appended_token_ = token_;
  return offset;
}

Status RecordEmitter::EnsureSchema(const TableInfo& table) {
  auto it = announced_.find(table.name);
  if (it != announced_.end() && it->second == table.columns) return Status::OK();
  outbox::Record r;
  r.type = outbox::RecordType::kSchema;
  r.table = table.name;
  r.columns = table.columns;
  r.source_seq = static_cast<uint64_t>(high_water_);
  OWSYNC_RETURN_IF_ERROR(Append(&r).status());
  announced_[table.name] = table.columns;
  return Status::OK();
}

Result<uint64_t> RecordEmitter::AppendData(const TableInfo& table, outbox::Record* record) {
  OWSYNC_RETURN_IF_ERROR(EnsureSchema(table));
  record->table = table.name;
  return Append(record);
}

Result<uint64_t> RecordEmitter::AppendSnapshotBegin(const TableInfo& table) {
  OWSYNC_RETURN_IF_ERROR(EnsureSchema(table));
  outbox::Record r;
  r.type = outbox::RecordType::kSnapshotBegin;
  r.table = table.name;
  r.source_seq = static_cast<uint64_t>(high_water_);
  return Append(&r);
}

Result<uint64_t> RecordEmitter::AppendSnapshotEnd(const std::string& table, uint64_t begin_offset) {
  outbox::Record r;
  r.type = outbox::RecordType::kSnapshotEnd;
  r.table = table;
  r.snapshot_begin_offset = begin_offset;
  r.source_seq = static_cast<uint64_t>(high_water_);
  return Append(&r);
}

Result<uint64_t> RecordEmitter::AppendVerify(const TableInfo& table, outbox::Record* record) {
  OWSYNC_RETURN_IF_ERROR(EnsureSchema(table));
  record->type = outbox::RecordType::kVerify;
  record->table = table.name;
  record->source_seq = static_cast<uint64_t>(high_water_);
  return Append(record);
}

Status RecordEmitter::Commit() {
  if (writer_ == nullptr || failed_) return Status::Unavailable("the outbox writer is not open");
  Status s = writer_->Commit();
  if (!s.ok()) {
    failed_ = true;
    return s.WithContext("outbox commit");
  }
  if (uncommitted_ > 0) committed_token_ = last_appended_token_;
  uncommitted_ = 0;
  return s;
}

void RecordEmitter::BeginBatch(const std::string& token) {
  batch_saved_token_ = token_;
  batch_first_record_ = records_appended_;
  token_ = token;
}

void RecordEmitter::AbortBatch() {
  if (records_appended_ > batch_first_record_) {
    failed_ = true;
  } else {
    token_ = batch_saved_token_;
  }
}

void RecordEmitter::Reset(outbox::OutboxWriter* writer, int64_t high_water) {
  writer_ = writer;
  failed_ = false;
  announced_.clear();
  high_water_ = high_water;
  uncommitted_ = 0;
  token_.clear();
  committed_token_.clear();
  last_appended_token_.clear();
}

}  // namespace owsync::capture
