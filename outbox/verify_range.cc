#include "outbox/verify_range.h"

namespace owsync::outbox {
namespace {

constexpr int64_t kHasUpper = 1;
constexpr int64_t kKeysOnly = 2;

std::string DigestBytes(uint64_t d) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[static_cast<size_t>(i)] = static_cast<char>((d >> (8 * i)) & 0xFF);
  return out;
}

uint64_t DigestOf(const std::string& bytes) {
  uint64_t d = 0;
  for (int i = 7; i >= 0; --i)
    d = (d << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  return d;
}

}  // namespace

size_t VerifyRange::key_width() const {
  size_t n = 0;
  for (const Column& c : columns) n += c.key_position > 0 ? 1 : 0;
  return n;
}

Record VerifyRange::ToRecord() const {
  Record r;
  r.type = RecordType::kVerify;
  r.table = table;
  r.columns = columns;
  r.key = lower;
  const int64_t flags = (upper.empty() ? 0 : kHasUpper) | (keys_only ? kKeysOnly : 0);
  r.row.push_back(Value::Integer(flags));
  r.row.push_back(Value::Integer(static_cast<int64_t>(entries.size())));
  r.row.insert(r.row.end(), upper.begin(), upper.end());
  for (const VerifyEntry& e : entries) {
    r.row.insert(r.row.end(), e.key.begin(), e.key.end());
    r.row.push_back(Value::Blob(DigestBytes(e.digest)));
  }
  return r;
}

Result<VerifyRange> VerifyRange::FromRecord(const Record& r) {
  auto bad = [&](const std::string& why) {
    return Status::Corruption("verify record at offset " + std::to_string(r.offset) + " (table '" +
                              r.table + "'): " + why);
  };
  if (r.type != RecordType::kVerify) return bad("not a verify record");
  VerifyRange v;
  v.table = r.table;
  v.columns = r.columns;
  const size_t width = v.key_width();
  if (width == 0) return bad("no key column");
  if (!r.key.empty() && r.key.size() != width) return bad("lower bound of the wrong width");
  v.lower = r.key;
  if (r.row.size() < 2 || r.row[0].type != ValueType::kInteger ||
      r.row[1].type != ValueType::kInteger || r.row[1].integer < 0) {
    return bad("no flags and count");
  }
  const int64_t flags = r.row[0].integer;
  if ((flags & ~(kHasUpper | kKeysOnly)) != 0) return bad("unknown flags");
  v.keys_only = (flags & kKeysOnly) != 0;
  const size_t n = static_cast<size_t>(r.row[1].integer);
  size_t pos = 2;
  if ((flags & kHasUpper) != 0) {
    if (r.row.size() < pos + width) return bad("upper bound cut short");
    v.upper.assign(r.row.begin() + static_cast<long>(pos),
                   r.row.begin() + static_cast<long>(pos + width));
    pos += width;
  }
  if ((r.row.size() - pos) != n * (width + 1)) return bad("entry count does not match");
  v.entries.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    VerifyEntry e;
    e.key.assign(r.row.begin() + static_cast<long>(pos),
                 r.row.begin() + static_cast<long>(pos + width));
    pos += width;
    const Value& d = r.row[pos++];
    if (d.type != ValueType::kBlob || d.bytes.size() != 8) return bad("a digest is not 8 bytes");
    e.digest = DigestOf(d.bytes);
    v.entries.push_back(std::move(e));
  }
  return v;
}

}  // namespace owsync::outbox
