// outbox_append_bench: outbox append + commit throughput (MB/s of row data, records/s) for
// message-sized (~400 B) and chat-sized (~20 KB JSON) rows, against the baseline of plain
// ZSTD_compress of the same row bytes at the same level and block size, measured in the same
// run. Goal (issue 3): outbox >= 0.7x the baseline.
//
//   outbox_append_bench [--mb 64] [--level 1] [--commit-kb 4096] [--block-kb 1024] [--reps 3]
//                       [--dir PATH]
//
// The outbox is written to a real directory (default: a fresh one under $TMPDIR or /tmp, removed
// at the end; with --dir the outboxes are left there for `owsync outbox stats|verify`) with
// every fsync it does in production: one per Commit, group-committed every --commit-kb of
// buffered records. Rows are generated a block at a time outside the timed regions, so both
// sides read hot input (see RunOnce). Best of --reps runs for each side.
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "outbox/outbox_writer.h"
#include "outbox/record.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/scoped_temp_dir.h"

namespace {

using owsync::outbox::Record;
using owsync::outbox::RecordType;
using owsync::outbox::Value;

struct Flags {
  double mb = 64;
  int level = 1;
  uint64_t commit_kb = 4096;
  uint64_t block_kb = 1024;
  int reps = 3;
  std::string dir;
};

// Deterministic text with a vocabulary and numbers: compresses roughly like chat content.
class TextGen {
 public:
  explicit TextGen(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t Next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1Dull;
  }
  std::string Words(size_t bytes) {
    static const char* const kWords[] = {
        "the",     "model",   "answer", "question", "because", "python", "function", "return",
        "value",   "error",   "please", "explain",  "could",   "would",  "data",     "user",
        "example", "result",  "table",  "query",    "you",     "and",    "is",       "of",
        "to",      "in",      "it",     "that",     "this",    "with",   "for",      "on",
        "server",  "request", "JSON",   "string",   "number",  "list",   "code",     "file"};
    std::string out;
    out.reserve(bytes + 16);
    while (out.size() < bytes) {
      const uint64_t r = Next();
      out += kWords[r % (sizeof(kWords) / sizeof(kWords[0]))];
      if (r % 13 == 0) out += " " + std::to_string((r >> 20) % 100000);
      out += (r >> 8) % 11 == 0 ? ". " : " ";
    }
    out.resize(bytes);
    return out;
  }
  std::string Uuid() {
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%08llx-%04llx-4%03llx-a%03llx-%012llx",
                  static_cast<unsigned long long>(Next() & 0xffffffff),
                  static_cast<unsigned long long>(Next() & 0xffff),
                  static_cast<unsigned long long>(Next() & 0xfff),
                  static_cast<unsigned long long>(Next() & 0xfff),
                  static_cast<unsigned long long>(Next() & 0xffffffffffff));
    return buf;
  }

 private:
  uint64_t s_;
};

// A `message` row: ~400 bytes of row data.
Record MessageRow(TextGen* g, uint64_t i) {
  Record r;
  r.type = RecordType::kUpsert;
  r.source_seq = i;
  r.table = "message";
  const std::string id = g->Uuid();
  r.key = {Value::Text(id)};
  r.row = {Value::Text(id),
           Value::Text(g->Uuid()),
           Value::Text(g->Uuid()),
           Value::Text(i % 2 ? "assistant" : "user"),
           Value::Text(g->Words(200)),
           Value::Integer(1700000000 + static_cast<int64_t>(i)),
           Value::Integer(1700000000 + static_cast<int64_t>(i) + 5),
           Value::Null()};
  return r;
}

// A `chat` row: ~20 KB of JSON holding a conversation.
Record ChatRow(TextGen* g, uint64_t i) {
  Record r;
  r.type = RecordType::kUpsert;
  r.source_seq = i;
  r.table = "chat";
  const std::string id = g->Uuid();
  std::string json = "{\"id\":\"" + id + "\",\"title\":\"" + g->Words(40) + "\",\"messages\":[";
  for (int m = 0; json.size() < 19500; ++m) {
    if (m > 0) json += ",";
    json += "{\"id\":\"" + g->Uuid() + "\",\"role\":\"" + (m % 2 ? "assistant" : "user") +
            "\",\"content\":\"" + g->Words(300 + g->Next() % 900) +
            "\",\"timestamp\":" + std::to_string(1700000000 + m) + "}";
  }
  json += "]}";
  r.key = {Value::Text(id)};
  r.row = {Value::Text(id),
           Value::Text(g->Uuid()),
           Value::Text(g->Words(40)),
           Value::Text(json),
           Value::Integer(1700000000 + static_cast<int64_t>(i)),
           Value::Integer(0)};
  return r;
}

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Appends the raw bytes of a row's values (text and blob bytes, 8 bytes per number) to *rows.
uint64_t AppendRowBytes(const Record& r, std::string* rows) {
  uint64_t n = 0;
  for (const Value& v : r.row) {
    if (v.type == owsync::outbox::ValueType::kText || v.type == owsync::outbox::ValueType::kBlob) {
      rows->append(v.bytes);
      n += v.bytes.size();
    } else if (v.type != owsync::outbox::ValueType::kNull) {
      char b[8];
      std::memcpy(b,
                  v.type == owsync::outbox::ValueType::kReal ? static_cast<const void*>(&v.real)
                                                             : static_cast<const void*>(&v.integer),
                  8);
      rows->append(b, 8);
      n += 8;
    }
  }
  return n;
}

struct Side {
  double seconds = 0;
  uint64_t bytes_out = 0;
  uint64_t commits = 0;
};

// One run over `mb` of fresh rows, generated a block's worth at a time (untimed), so that both
// sides see their input hot in cache, as capture does right after reading a batch from SQLite:
// the baseline compresses the chunk's row bytes with ZSTD_compressCCtx (a reused context, the
// same level, block_kb at a time), the outbox Appends the chunk's records and Commits (write +
// fsync) whenever commit_kb are buffered.
void RunOnce(const char* name, Record (*make)(TextGen*, uint64_t), const Flags& f,
             owsync::FileSystem* fs, owsync::Clock* clock, const std::string& dir, Side* zstd,
             Side* outbox, uint64_t* records_out, uint64_t* row_bytes_out) {
  owsync::outbox::OutboxWriterOptions options;
  options.block_bytes = f.block_kb << 10;
  options.zstd_level = f.level;
  auto w = owsync::outbox::OutboxWriter::Open(fs, clock, dir, options);
  if (!w.ok()) {
    std::fprintf(stderr, "open: %s\n", w.status().ToString().c_str());
    std::exit(2);
  }
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  const size_t block = f.block_kb << 10;
  std::vector<char> out(ZSTD_compressBound(block));
  TextGen g(static_cast<uint64_t>(name[0]));
  const uint64_t target = static_cast<uint64_t>(f.mb * 1048576);
  const uint64_t commit_bytes = f.commit_kb << 10;
  uint64_t row_bytes = 0, n = 0;
  std::vector<Record> chunk;
  std::string rows;
  while (row_bytes < target) {
    chunk.clear();
    rows.clear();
    while (rows.size() < block) {
      chunk.push_back(make(&g, ++n));
      AppendRowBytes(chunk.back(), &rows);
    }
    row_bytes += rows.size();

    auto t0 = std::chrono::steady_clock::now();
    for (size_t pos = 0; pos < rows.size(); pos += block) {
      const size_t len = std::min(block, rows.size() - pos);
      const size_t z =
          ZSTD_compressCCtx(cctx, out.data(), out.size(), rows.data() + pos, len, f.level);
      if (ZSTD_isError(z)) std::exit(3);
      zstd->bytes_out += z;
    }
    zstd->seconds += Seconds(t0, std::chrono::steady_clock::now());

    t0 = std::chrono::steady_clock::now();
    for (Record& r : chunk) {
      if (!(*w)->Append(&r).ok()) std::exit(4);
      if ((*w)->buffered_bytes() >= commit_bytes) {
        if (!(*w)->Commit().ok()) std::exit(5);
        ++outbox->commits;
      }
    }
    outbox->seconds += Seconds(t0, std::chrono::steady_clock::now());
  }
  auto t0 = std::chrono::steady_clock::now();
  if (!(*w)->Commit().ok()) std::exit(5);
  ++outbox->commits;
  outbox->seconds += Seconds(t0, std::chrono::steady_clock::now());
  outbox->bytes_out = (*w)->DiskUsage().value_or(0);
  ZSTD_freeCCtx(cctx);
  *records_out = n;
  *row_bytes_out = row_bytes;
}

void Bench(const char* name, Record (*make)(TextGen*, uint64_t), const Flags& f,
           owsync::FileSystem* fs, owsync::Clock* clock, const std::string& root) {
  Side best_z, best_o;
  best_z.seconds = best_o.seconds = 1e9;
  uint64_t records = 0, row_bytes = 0;
  for (int rep = 0; rep < f.reps; ++rep) {
    Side z, o;
    RunOnce(name, make, f, fs, clock, root + "/" + name + "-" + std::to_string(rep), &z, &o,
            &records, &row_bytes);
    if (z.seconds < best_z.seconds) best_z = z;
    if (o.seconds < best_o.seconds) best_o = o;
  }
  const double mb = static_cast<double>(row_bytes) / 1048576.0;
  std::printf("%-8s %8llu %9.1f %12.1f %12.1f %12.0f %7.2fx %8llu %9.2f %9.2f\n", name,
              static_cast<unsigned long long>(records), mb, mb / best_z.seconds,
              mb / best_o.seconds, static_cast<double>(records) / best_o.seconds,
              best_z.seconds / best_o.seconds, static_cast<unsigned long long>(best_o.commits),
              static_cast<double>(row_bytes) / static_cast<double>(best_z.bytes_out),
              static_cast<double>(row_bytes) / static_cast<double>(best_o.bytes_out));
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--mb")
      f.mb = std::stod(next());
    else if (a == "--level")
      f.level = std::stoi(next());
    else if (a == "--commit-kb")
      f.commit_kb = std::stoull(next());
    else if (a == "--block-kb")
      f.block_kb = std::stoull(next());
    else if (a == "--reps")
      f.reps = std::stoi(next());
    else if (a == "--dir")
      f.dir = next();
    else {
      std::fprintf(stderr, "unknown flag %s (see the comment at the top of the source)\n",
                   a.c_str());
      return 2;
    }
  }
  auto fs = owsync::NewPosixFileSystem();
  auto clock = owsync::NewSystemClock();
  std::optional<owsync::ScopedTempDir> tmp;
  std::string root = f.dir;
  if (root.empty()) {
    auto t = owsync::ScopedTempDir::Create("outbox-bench-");
    if (!t.ok()) return 2;
    tmp.emplace(std::move(t).value());
    root = tmp->path();
  }
  std::printf(
      "outbox append+commit vs ZSTD_compress of the same row bytes (level %d, %llu KiB "
      "blocks, commit+fsync every %llu KiB, best of %d, dir %s)\n",
      f.level, static_cast<unsigned long long>(f.block_kb),
      static_cast<unsigned long long>(f.commit_kb), f.reps, root.c_str());
  std::printf("%-8s %8s %9s %12s %12s %12s %8s %8s %9s %9s\n", "rows", "records", "row MB",
              "zstd MB/s", "outbox MB/s", "outbox rec/s", "ratio", "commits", "zstd x", "disk x");
  Bench("message", MessageRow, f, fs.get(), clock.get(), root);
  Bench("chat", ChatRow, f, fs.get(), clock.get(), root);
  std::printf(
      "ratio = outbox MB/s / zstd MB/s (goal >= 0.70); zstd x, disk x: compression "
      "factors of the baseline and of the outbox files\n");
  return 0;
}
