// Test helpers shared by the outbox tests (header-only; not part of the library).
#ifndef OWSYNC_OUTBOX_OUTBOX_TESTING_H_
#define OWSYNC_OUTBOX_OUTBOX_TESTING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "outbox/outbox_reader.h"
#include "outbox/record.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::outbox::testing {

// A deterministic upsert whose row carries about `payload_bytes` bytes of JSON-like text.
inline Record TestRecord(uint64_t i, size_t payload_bytes = 100) {
  Record r;
  r.type = RecordType::kUpsert;
  r.source_seq = i * 3 + 1;
  r.table = i % 3 == 0 ? "chat" : (i % 3 == 1 ? "message" : "user");
  r.key = {Value::Text("id-" + std::to_string(i))};
  static const char* const kWords[] = {"the",  "model", "said", "hello", "owsync", "data",
                                       "chat", "user",  "file", "tool",  "answer", "why"};
  std::string text = "{\"i\":" + std::to_string(i) + ",\"content\":\"";
  uint64_t h = i * 0x9E3779B97F4A7C15ull + 1;
  while (text.size() + 2 < payload_bytes) {
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    text += kWords[h % 12];
    text += (h >> 8) % 4 == 0 ? " " + std::to_string((h >> 16) % 100000) + " " : " ";
  }
  text.resize(payload_bytes > 2 ? payload_bytes - 2 : 0);
  text += "\"}";
  r.row = {r.key[0], Value::Integer(static_cast<int64_t>(i) * 1000003), Value::Real(i * 0.5),
           Value::Text(text), i % 5 == 0 ? Value::Null() : Value::Blob(std::string(i % 7, '\0'))};
  return r;
}

// Every record readable now from `from` (0 = first retained) up to the watermark.
inline Result<std::vector<Record>> ReadAll(FileSystem* fs, const std::string& dir,
                                           uint64_t from = 0, OutboxReaderOptions options = {}) {
  OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<OutboxReader> reader,
                          OutboxReader::Open(fs, dir, from, options));
  std::vector<Record> out;
  while (true) {
    Record r;
    OWSYNC_ASSIGN_OR_RETURN(const bool more, reader->Next(&r));
    if (!more) break;
    out.push_back(std::move(r));
  }
  return out;
}

// Flips one bit of byte `pos` of `path` (rewrites the file through `fs`).
inline Status FlipBit(FileSystem* fs, const std::string& path, uint64_t pos, int bit = 0) {
  OWSYNC_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(fs, path));
  if (pos >= bytes.size()) return Status::InvalidArgument("position past the end");
  bytes[pos] = static_cast<char>(bytes[pos] ^ (1 << bit));
  OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, fs->NewWritableFile(path));
  OWSYNC_RETURN_IF_ERROR(f->Append(bytes));
  OWSYNC_RETURN_IF_ERROR(f->Sync());
  return f->Close();
}

}  // namespace owsync::outbox::testing

#endif  // OWSYNC_OUTBOX_OUTBOX_TESTING_H_
