// Drain throughput, changelog -> durable outbox (issue 3, bench cell 3).
//
// For each row size (chat_message ~400 B, chat ~20 KB JSON) and journal mode: a database with
// the Open WebUI v0.11.0 schema gets capture installed (library), the capture stops, and the
// application inserts N rows (large transactions, untimed): the triggers log N changes. Then:
//   baseline  the least work a drain must do on the same rows, measured in the same run: one
//             read transaction SELECTing every column of the N rows (read cost), plus zstd at
//             the outbox's level compressing the same row bytes in blocks of the outbox's block
//             size (compression cost). No framing, no crc, no write, no fsync, no changelog.
//   drain     a fresh CaptureLoop (started untimed) runs RunUntilCaughtUp(): it reads the
//             changelog in bounded batches, reads the row images, appends and commits (fsync)
//             the outbox, and deletes the drained changelog rows — what `owsync capture` does.
// Row data = the bytes of the column values as SQLite returns them (text/blob length, 8 for
// numbers). Goals (issue 3): >= 100k changes/s for message-sized rows, >= 150 MB/s of row data
// for chat-sized rows. The ratio drain/baseline says how close the drain is to that floor.
#include <zstd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "util/scoped_temp_dir.h"

namespace owsync::bench {
namespace {

enum class RowSize { kMessage, kChat };

struct CaseResult {
  std::string name;
  int64_t n = 0;
  double row_mb = 0;
  double select_s = 0, zstd_s = 0, drain_s = 0, drain_cpu_s = 0;
  double outbox_mb = 0;
  double fsync_ms = 0;
};

// Inserts `n` rows, each with its own generated text (so compression finds no repeats across
// rows that real data would not have), in large transactions; the triggers log one change each.
void Prefill(const std::string& path, RowSize size, int64_t n) {
  AppDb db(path);
  Rng rng(7);
  std::string chat_id = Uuid(&rng), user_id = Uuid(&rng);
  AppStmt ins =
      size == RowSize::kMessage
          ? AppStmt(&db,
                    "INSERT INTO chat_message (id, chat_id, user_id, role, parent_id, content, "
                    "model_id, done, created_at, updated_at) VALUES (?1, ?2, ?3, 'assistant', "
                    "?4, ?5, 'llama3.1:8b', 1, ?6, ?6)")
          : AppStmt(&db,
                    "INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, "
                    "archived, meta) VALUES (?1, ?2, 'New Chat', ?3, ?4, ?4, 0, '{}')");
  const int64_t per_txn = size == RowSize::kMessage ? 20000 : 500;
  std::string id, parent, value;
  db.Exec("BEGIN");
  for (int64_t i = 0; i < n; ++i) {
    parent = id;
    id = Uuid(&rng);
    value = size == RowSize::kMessage ? MessageContent(&rng, 240) : ChatJson(&rng, 20 * 1024);
    ins.Text(1, id);
    if (size == RowSize::kMessage) {
      ins.Text(2, chat_id);
      ins.Text(3, user_id);
      ins.Text(4, parent);
      ins.Text(5, value);
      ins.Int(6, 1700000000 + i);
    } else {
      ins.Text(2, user_id);
      ins.Text(3, value);
      ins.Int(4, 1700000000 + i);
    }
    ins.MustRun();
    if ((i + 1) % per_txn == 0) db.Exec("COMMIT; BEGIN");
  }
  db.Exec("COMMIT");
  int64_t logged = db.QueryInt("SELECT count(*) FROM _owsync_changes");
  if (logged != n) Die(fmt::format("the triggers logged {} changes for {} inserts", logged, n));
}

// Baseline: reads every column of every row of `table` in one read transaction, collecting
// the value bytes; then compresses them with zstd like the outbox does. Returns the row bytes.
uint64_t Baseline(const std::string& path, const std::string& table, Clock* clock, double* select_s,
                  double* zstd_s) {
  AppDb db(path);
  AppStmt sel(&db, "SELECT * FROM " + table);
  std::string bytes;
  double t0 = NowSeconds(clock);
  db.Exec("BEGIN");
  int cols = sqlite3_column_count(sel.get());
  while (sqlite3_step(sel.get()) == SQLITE_ROW) {
    for (int c = 0; c < cols; ++c) {
      switch (sqlite3_column_type(sel.get(), c)) {
        case SQLITE_INTEGER: {
          int64_t v = sqlite3_column_int64(sel.get(), c);
          bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
          break;
        }
        case SQLITE_FLOAT: {
          double v = sqlite3_column_double(sel.get(), c);
          bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
          break;
        }
        case SQLITE_NULL:
          break;
        default: {
          const void* p = sqlite3_column_blob(sel.get(), c);
          int len = sqlite3_column_bytes(sel.get(), c);
          if (len > 0) bytes.append(static_cast<const char*>(p), static_cast<size_t>(len));
        }
      }
    }
  }
  sqlite3_reset(sel.get());
  db.Exec("COMMIT");
  *select_s = NowSeconds(clock) - t0;

  const outbox::OutboxWriterOptions defaults;
  const size_t block = defaults.block_bytes;
  std::string out(ZSTD_compressBound(block), '\0');
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  size_t compressed = 0;
  t0 = NowSeconds(clock);
  for (size_t off = 0; off < bytes.size(); off += block) {
    size_t len = std::min(block, bytes.size() - off);
    size_t r = ZSTD_compressCCtx(cctx, out.data(), out.size(), bytes.data() + off, len,
                                 defaults.zstd_level);
    if (ZSTD_isError(r)) Die(std::string("zstd: ") + ZSTD_getErrorName(r));
    compressed += r;
  }
  *zstd_s = NowSeconds(clock) - t0;
  ZSTD_freeCCtx(cctx);
  if (compressed == 0 && !bytes.empty()) Die("zstd produced nothing");
  return bytes.size();
}

CaseResult RunCase(RowSize size, const std::string& journal, int64_t n, FileSystem* fs,
                   Clock* clock, Logger* logger) {
  auto dir = Take(ScopedTempDir::Create("owsync-bench-drain-"), "temp dir");
  const std::string db = dir.Child("webui.db"), outbox_dir = dir.Child("outbox");
  const std::string table = size == RowSize::kMessage ? "chat_message" : "chat";
  CreateOpenWebUiDb(db, journal);
  InstallCapture(fs, clock, logger, db, outbox_dir);
  Prefill(db, size, n);
  const double fsync_ms = FsyncProbeMillis(fs, clock, dir.path());

  CaseResult r;
  r.name =
      fmt::format("{:<9} {:<6}", size == RowSize::kMessage ? "msg~400B" : "chat~20KB", journal);
  r.n = n;
  r.fsync_ms = fsync_ms;
  uint64_t row_bytes = Baseline(db, table, clock, &r.select_s, &r.zstd_s);
  r.row_mb = static_cast<double>(row_bytes) / 1e6;

  capture::CaptureLoop loop(fs, clock, logger, CaptureOptionsFor(fs, clock, db, outbox_dir));
  Check(loop.Start(), "start capture");
  uint64_t before = loop.writer()->durable_offset();
  double t0 = NowSeconds(clock);
  double cpu0 = ProcessCpuSeconds();
  Check(loop.RunUntilCaughtUp(), "drain");
  r.drain_s = NowSeconds(clock) - t0;
  r.drain_cpu_s = ProcessCpuSeconds() - cpu0;

  const capture::CaptureCounters k = loop.counters();
  if (static_cast<int64_t>(k.entries_drained) != n || static_cast<int64_t>(k.upserts) != n) {
    Die(fmt::format("drained {} entries / {} upserts, expected {}", k.entries_drained, k.upserts,
                    n));
  }
  if (loop.writer()->durable_offset() < before + static_cast<uint64_t>(n)) {
    Die("the outbox's durable offset did not advance by N");
  }
  r.outbox_mb = static_cast<double>(Take(loop.writer()->DiskUsage(), "disk usage")) / 1e6;
  AppDb check(db);
  if (check.QueryInt("SELECT count(*) FROM _owsync_changes") != 0) {
    Die("the changelog is not empty after the drain");
  }
  return r;
}

int Main(int argc, char** argv) {
  BenchFlags flags = ParseFlags(argc, argv);
  auto fs = NewPosixFileSystem();
  auto clock = NewSystemClock();
  auto logger = NewStderrLogger("capture", LogLevel::kWarn);
  const outbox::OutboxWriterOptions wo;
  const capture::DrainOptions dro;

  fmt::print("drain_throughput_bench: changelog -> durable outbox{}\n",
             flags.quick ? " (--quick)" : "");
  fmt::print(
      "  N inserted rows = N changelog entries (no coalescing); drain = CaptureLoop::"
      "RunUntilCaughtUp (batches of {} changes / {} MiB, fsync per batch, changelog "
      "delete)\n",
      dro.max_changes, dro.max_bytes >> 20);
  fmt::print(
      "  baseline = SELECT * of the same rows in one read txn + zstd level {} of their "
      "bytes in {} KiB blocks (no framing/crc/write/fsync)\n",
      wo.zstd_level, wo.block_bytes >> 10);
  fmt::print("  {}\n", MachineLine());
  fmt::print(
      "  drain cpu s = CPU time (user+sys) of the drain; wall time is what the goal is "
      "about, CPU time shows what other load on the machine took from it; fsync ms = median "
      "4 KiB append+fdatasync probe before the drain\n\n");
  fmt::print(
      "{:<17} {:>7} {:>7} {:>8} {:>7} {:>8} {:>8} {:>10} {:>8} {:>10} {:>11} {:>9} {:>8} "
      "{:>17}\n",
      "case", "N", "row MB", "select s", "zstd s", "drain s", "cpu s", "changes/s", "MB/s",
      "base MB/s", "drain/base", "outbox MB", "fsync ms", "goal / verdict");
  std::fflush(stdout);
  const int64_t n_msg = flags.quick ? 20000 : 200000;
  const int64_t n_chat = flags.quick ? 1000 : 8000;
  std::string only;  // --case msg-wal|msg-delete|chat-wal|chat-delete: run just that one
  for (size_t i = 0; i + 1 < flags.rest.size(); ++i) {
    if (flags.rest[i] == "--case") only = flags.rest[i + 1];
  }
  for (RowSize size : {RowSize::kMessage, RowSize::kChat}) {
    for (const char* journal : {"wal", "delete"}) {
      std::string case_name = (size == RowSize::kMessage ? "msg-" : "chat-") + std::string(journal);
      if (!only.empty() && only != case_name) continue;
      CaseResult r = RunCase(size, journal, size == RowSize::kMessage ? n_msg : n_chat, fs.get(),
                             clock.get(), logger.get());
      double rate = static_cast<double>(r.n) / r.drain_s;
      double mbps = r.row_mb / r.drain_s;
      double base_mbps = r.row_mb / (r.select_s + r.zstd_s);
      std::string goal = size == RowSize::kMessage
                             ? fmt::format(">=100k/s {}", Verdict(rate >= 100000))
                             : fmt::format(">=150MB/s {}", Verdict(mbps >= 150));
      fmt::print(
          "{:<17} {:>7} {:>7.1f} {:>8.3f} {:>7.3f} {:>8.3f} {:>8.3f} {:>10.0f} {:>8.1f} "
          "{:>10.1f} {:>10.2f}x {:>9.1f} {:>8.2f} {:>17}\n",
          r.name, r.n, r.row_mb, r.select_s, r.zstd_s, r.drain_s, r.drain_cpu_s, rate, mbps,
          base_mbps, mbps / base_mbps, r.outbox_mb, r.fsync_ms, goal);
      std::fflush(stdout);
    }
  }
  fmt::print("  {}\n", MachineLine());
  return 0;
}

}  // namespace
}  // namespace owsync::bench

int main(int argc, char** argv) { return owsync::bench::Main(argc, argv); }
