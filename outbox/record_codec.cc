#include "outbox/record_codec.h"

#include <cassert>
#include <cstring>

#include "outbox/format.h"
#include "util/coding.h"

namespace owsync::outbox {
namespace {

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ (v < 0 ? ~uint64_t{0} : uint64_t{0});
}

size_t LengthPrefixedSize(size_t n) { return VarintLength(n) + n; }

size_t ValueSize(const Value& v) {
  switch (v.type) {
    case ValueType::kNull:
      return 1;
    case ValueType::kInteger:
      return 1 + VarintLength(ZigZag(v.integer));
    case ValueType::kReal:
      return 1 + 8;
    case ValueType::kText:
    case ValueType::kBlob:
      return 1 + LengthPrefixedSize(v.bytes.size());
  }
  return 1;
}

size_t ValuesSize(const std::vector<Value>& values) {
  size_t n = VarintLength(values.size());
  for (const Value& v : values) n += ValueSize(v);
  return n;
}

// Encoders into a buffer sized beforehand with EncodedRecordSize (one resize per record, no
// per-field append): they return the position after what they wrote.
char* WriteVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7Fu) | 0x80u);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

char* WriteBytes(char* p, std::string_view bytes) {
  p = WriteVarint(p, bytes.size());
  if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  return p + bytes.size();
}

char* WriteValue(char* p, const Value& v) {
  switch (v.type) {
    case ValueType::kNull:
      *p++ = static_cast<char>(format::kValueNull);
      return p;
    case ValueType::kInteger:
      *p++ = static_cast<char>(format::kValueInteger);
      return WriteVarint(p, ZigZag(v.integer));
    case ValueType::kReal: {
      *p++ = static_cast<char>(format::kValueReal);
      uint64_t bits;
      std::memcpy(&bits, &v.real, sizeof(bits));
      EncodeFixed64(p, bits);
      return p + 8;
    }
    case ValueType::kText:
      *p++ = static_cast<char>(format::kValueText);
      return WriteBytes(p, v.bytes);
    case ValueType::kBlob:
      *p++ = static_cast<char>(format::kValueBlob);
      return WriteBytes(p, v.bytes);
  }
  return p;
}

char* WriteValues(char* p, const std::vector<Value>& values) {
  p = WriteVarint(p, values.size());
  for (const Value& v : values) p = WriteValue(p, v);
  return p;
}

char* WriteRecord(char* p, const Record& r) {
  *p++ = static_cast<char>(r.type);
  p = WriteVarint(p, r.source_seq);
  p = WriteBytes(p, r.table);
  p = WriteValues(p, r.key);
  p = WriteValues(p, r.row);
  p = WriteVarint(p, r.columns.size());
  for (const Column& c : r.columns) {
    p = WriteBytes(p, c.name);
    p = WriteBytes(p, c.declared_type);
    p = WriteVarint(p, c.key_position);
    *p++ = c.not_null ? 1 : 0;
  }
  p = WriteVarint(p, r.snapshot_begin_offset);
  if (!r.capture_token.empty()) p = WriteBytes(p, r.capture_token);
  return p;
}

Status Bad(std::string_view what) {
  return Status::Corruption(std::string("record: ") + std::string(what));
}

Status GetValue(std::string_view* in, Value* v) {
  if (in->empty()) return Bad("value tag missing");
  const auto tag = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  switch (tag) {
    case format::kValueNull:
      *v = Value::Null();
      return Status::OK();
    case format::kValueInteger: {
      int64_t i = 0;
      if (!GetVarsint64(in, &i)) return Bad("malformed integer value");
      *v = Value::Integer(i);
      return Status::OK();
    }
    case format::kValueReal: {
      uint64_t bits = 0;
      if (!GetFixed64(in, &bits)) return Bad("truncated real value");
      double d;
      std::memcpy(&d, &bits, sizeof(d));
      *v = Value::Real(d);
      return Status::OK();
    }
    case format::kValueText:
    case format::kValueBlob: {
      std::string_view bytes;
      if (!GetLengthPrefixed(in, &bytes)) return Bad("text or blob length runs past the end");
      *v = tag == format::kValueText ? Value::Text(bytes) : Value::Blob(bytes);
      return Status::OK();
    }
    default:
      return Bad("unknown value tag " + std::to_string(tag));
  }
}

// A count of items of at least `min_item_bytes` each must fit in what is left.
Status GetCount(std::string_view* in, size_t min_item_bytes, const char* what, uint64_t* n) {
  if (!GetVarint64(in, n)) return Bad(std::string("malformed ") + what + " count");
  if (*n > in->size() / min_item_bytes) {
    return Bad(std::string(what) + " count " + std::to_string(*n) + " exceeds the bytes left");
  }
  return Status::OK();
}

Status GetValues(std::string_view* in, const char* what, std::vector<Value>* values) {
  uint64_t n = 0;
  OWSYNC_RETURN_IF_ERROR(GetCount(in, 1, what, &n));
  // Grow as values decode (a corrupt count cannot make us allocate ahead of the bytes).
  values->clear();
  for (uint64_t i = 0; i < n; ++i) {
    OWSYNC_RETURN_IF_ERROR(GetValue(in, &values->emplace_back()));
  }
  return Status::OK();
}

}  // namespace

size_t EncodedRecordSize(const Record& r) {
  size_t n = 1 + VarintLength(r.source_seq) + LengthPrefixedSize(r.table.size());
  n += ValuesSize(r.key) + ValuesSize(r.row);
  n += VarintLength(r.columns.size());
  for (const Column& c : r.columns) {
    n += LengthPrefixedSize(c.name.size()) + LengthPrefixedSize(c.declared_type.size()) +
         VarintLength(c.key_position) + 1;
  }
  n += VarintLength(r.snapshot_begin_offset);
  if (!r.capture_token.empty()) n += LengthPrefixedSize(r.capture_token.size());
  return n;
}

void EncodeRecord(const Record& r, std::string* dst) {
  const size_t size = EncodedRecordSize(r);
  const size_t old = dst->size();
  dst->resize(old + size);
  char* end = WriteRecord(dst->data() + old, r);
  assert(end == dst->data() + dst->size());
  (void)end;
}

void AppendFramedRecord(const Record& record, std::string* dst) {
  AppendFramedRecord(record, EncodedRecordSize(record), dst);
}

void AppendFramedRecord(const Record& record, size_t body_size, std::string* dst) {
  const size_t old = dst->size();
  dst->resize(old + VarintLength(body_size) + body_size);
  char* p = WriteVarint(dst->data() + old, body_size);
  char* end = WriteRecord(p, record);
  assert(end == dst->data() + dst->size());
  (void)end;
}

Status DecodeRecord(std::string_view body, Record* r) {
  std::string_view in = body;
  if (in.empty()) return Bad("empty body");
  const auto type = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  if (type < format::kRecordTypeMin || type > format::kRecordTypeMax) {
    return Bad("unknown record type " + std::to_string(type));
  }
  r->type = static_cast<RecordType>(type);
  if (!GetVarint64(&in, &r->source_seq)) return Bad("malformed source_seq");
  std::string_view table;
  if (!GetLengthPrefixed(&in, &table)) return Bad("table name runs past the end");
  r->table.assign(table.data(), table.size());
  OWSYNC_RETURN_IF_ERROR(GetValues(&in, "key", &r->key));
  OWSYNC_RETURN_IF_ERROR(GetValues(&in, "row", &r->row));
  uint64_t ncols = 0;
  OWSYNC_RETURN_IF_ERROR(GetCount(&in, 4, "column", &ncols));
  r->columns.clear();
  for (uint64_t i = 0; i < ncols; ++i) {
    Column& c = r->columns.emplace_back();
    std::string_view name, declared;
    if (!GetLengthPrefixed(&in, &name)) return Bad("column name runs past the end");
    if (!GetLengthPrefixed(&in, &declared)) return Bad("column type runs past the end");
    if (!GetVarint32(&in, &c.key_position)) return Bad("malformed column key position");
    if (in.empty()) return Bad("column not_null flag missing");
    const auto not_null = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    if (not_null > 1) return Bad("column not_null flag is " + std::to_string(not_null));
    c.name.assign(name.data(), name.size());
    c.declared_type.assign(declared.data(), declared.size());
    c.not_null = not_null == 1;
  }
  if (!GetVarint64(&in, &r->snapshot_begin_offset)) return Bad("malformed snapshot_begin_offset");
  r->capture_token.clear();
  if (!in.empty()) {
    const size_t left = in.size();
    std::string_view token;
    if (!GetLengthPrefixed(&in, &token) || token.empty()) {
      return Bad(std::to_string(left) +
                 " trailing bytes after the record (not a non-empty capture token)");
    }
    r->capture_token.assign(token.data(), token.size());
  }
  if (!in.empty()) return Bad(std::to_string(in.size()) + " trailing bytes after the record");
  return Status::OK();
}

Status NextFramedRecord(std::string_view* payload, std::string_view* body) {
  if (!GetLengthPrefixed(payload, body)) {
    return Status::Corruption("record: length prefix malformed or past the end of the block");
  }
  return Status::OK();
}

}  // namespace owsync::outbox
