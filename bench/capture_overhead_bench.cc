// Application write overhead of capture (issue 3, bench cell 1).
//
// The application writes single-row transactions — an INSERT of a new row, then an UPDATE of
// that row, alternating (a chat being written: a message appended, then edited/streamed) — with
// synchronous FULL or NORMAL, journal WAL or DELETE, message-sized rows (chat_message, ~400 B)
// or chat-sized rows (chat, ~20 KB JSON), on three databases with the same Open WebUI v0.11.0
// schema, in the same directory:
//   base      no capture at all (the baseline);
//   triggers  capture installed (owsync's tables and triggers, via the capture library), no
//             capture running: the changelog grows, nothing drains it;
//   live      capture installed and running (CaptureLoop::Run on a thread of this process with
//             the library's defaults, i.e. what `owsync capture` runs), draining concurrently.
// Each round runs one timed batch per database, in a rotating order (ABC, BCA, CAB, ...) so slow
// drift of the shared machine hits all three alike. Each round gives a ratio to the baseline
// batch of the same round; the table shows the median per-transaction time of each database and
// the median of the per-round ratios, with their range. Goal (issue 3): <= 1.10x at FULL,
// <= 1.30x at NORMAL.
#include <cstdio>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "util/scoped_temp_dir.h"

namespace owsync::bench {
namespace {

enum class RowSize { kMessage, kChat };

struct Config {
  std::string synchronous;  // "FULL" | "NORMAL"
  std::string journal;      // "wal" | "delete"
  RowSize size;
  double goal;
};

struct Payloads {
  std::vector<std::string> values;  // message contents or chat JSON documents
};

Payloads MakePayloads(RowSize size) {
  Rng rng(size == RowSize::kMessage ? 11 : 12);
  Payloads p;
  for (int i = 0; i < 16; ++i) {
    p.values.push_back(size == RowSize::kMessage ? MessageContent(&rng, 240)
                                                 : ChatJson(&rng, 20 * 1024));
  }
  return p;
}

// One database with its application connection and statements.
class Target {
 public:
  Target(const std::string& path, const Config& c, uint64_t seed) : db_(path), rng_(seed) {
    db_.Exec("PRAGMA synchronous=" + c.synchronous);
    if (c.size == RowSize::kMessage) {
      chat_id_ = Uuid(&rng_);
      user_id_ = Uuid(&rng_);
      ins_ = AppStmt(&db_,
                     "INSERT INTO chat_message (id, chat_id, user_id, role, parent_id, content, "
                     "model_id, done, created_at, updated_at) VALUES (?1, ?2, ?3, 'assistant', "
                     "?4, ?5, 'llama3.1:8b', 0, ?6, ?6)");
      upd_ = AppStmt(&db_,
                     "UPDATE chat_message SET content = ?2, done = 1, updated_at = ?3 "
                     "WHERE id = ?1");
    } else {
      user_id_ = Uuid(&rng_);
      ins_ = AppStmt(&db_,
                     "INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, "
                     "archived, meta) VALUES (?1, ?2, 'New Chat', ?3, ?4, ?4, 0, '{}')");
      upd_ = AppStmt(&db_, "UPDATE chat SET chat = ?2, updated_at = ?3 WHERE id = ?1");
    }
    message_ = c.size == RowSize::kMessage;
  }

  // Runs `n` single-row transactions (autocommit statements: one transaction each); returns
  // the mean microseconds per transaction.
  double RunBatch(const Payloads& p, int n, Clock* clock) {
    double t0 = NowSeconds(clock);
    for (int i = 0; i < n; ++i, ++txns_) {
      const std::string& value = p.values[txns_ % p.values.size()];
      int64_t now = 1700000000 + txns_;
      if (txns_ % 2 == 0) {
        std::string parent = last_id_;
        last_id_ = Uuid(&rng_);
        ins_.Text(1, last_id_);
        if (message_) {
          ins_.Text(2, chat_id_);
          ins_.Text(3, user_id_);
          ins_.Text(4, parent);
          ins_.Text(5, value);
          ins_.Int(6, now);
        } else {
          ins_.Text(2, user_id_);
          ins_.Text(3, value);
          ins_.Int(4, now);
        }
        ins_.MustRun();
      } else {
        upd_.Text(1, last_id_);
        upd_.Text(2, value);
        upd_.Int(3, now);
        upd_.MustRun();
      }
    }
    return (NowSeconds(clock) - t0) * 1e6 / n;
  }

  int64_t txns() const { return txns_; }
  AppDb* db() { return &db_; }

 private:
  AppDb db_;
  Rng rng_;
  bool message_ = true;
  std::string chat_id_, user_id_, last_id_;
  AppStmt ins_, upd_;
  int64_t txns_ = 0;
};

struct Row {
  std::string name;
  double base_us = 0, trig_us = 0, live_us = 0;
  double trig_ratio = 0, live_ratio = 0;
  double trig_lo = 0, trig_hi = 0, live_lo = 0, live_hi = 0;
  double goal = 0;
  int batch = 0;
  double fsync_ms = 0;
};

Row RunConfig(const Config& c, bool quick, FileSystem* fs, Clock* clock, Logger* logger) {
  auto dir = Take(ScopedTempDir::Create("owsync-bench-overhead-"), "temp dir");
  const std::string base_db = dir.Child("base.db"), trig_db = dir.Child("triggers.db"),
                    live_db = dir.Child("live.db");
  for (const auto& p : {base_db, trig_db, live_db}) CreateOpenWebUiDb(p, c.journal);
  const double fsync_ms = FsyncProbeMillis(fs, clock, dir.path());
  InstallCapture(fs, clock, logger, trig_db, dir.Child("triggers-outbox"));
  LiveCapture live(fs, clock, logger, live_db, dir.Child("live-outbox"));
  live.Start();

  const Payloads payloads = MakePayloads(c.size);
  std::vector<std::unique_ptr<Target>> targets;
  targets.push_back(std::make_unique<Target>(base_db, c, 1));
  targets.push_back(std::make_unique<Target>(trig_db, c, 1));
  targets.push_back(std::make_unique<Target>(live_db, c, 1));

  // Calibrate the batch so one baseline batch takes about `target` seconds; warm all three.
  // (at least 40 transactions, so that fsync-bound configurations average some fsyncs).
  const double target = quick ? 0.05 : 0.4;
  const double min_batch = quick ? 20 : 40;
  double probe_us = targets[0]->RunBatch(payloads, 20, clock);
  int n = static_cast<int>(std::clamp(target * 1e6 / probe_us, min_batch, 40000.0));
  n += n % 2;  // whole insert+update pairs
  for (auto& t : targets) t->RunBatch(payloads, n, clock);

  const int rounds = quick ? 2 : 9;  // as printed in the header
  std::vector<double> us[3];
  std::vector<double> trig_ratios, live_ratios;
  for (int r = 0; r < rounds; ++r) {
    double round_us[3];
    for (int k = 0; k < 3; ++k) {
      int m = (r + k) % 3;
      round_us[m] = targets[m]->RunBatch(payloads, n, clock);
      us[m].push_back(round_us[m]);
    }
    trig_ratios.push_back(round_us[1] / round_us[0]);
    live_ratios.push_back(round_us[2] / round_us[0]);
  }
  live.Stop();

  // The triggers really logged every change; the live capture drained every change it saw.
  int64_t logged = targets[1]->db()->QueryInt("SELECT count(*) FROM _owsync_changes");
  if (logged != targets[1]->txns()) {
    Die(fmt::format("triggers logged {} changes for {} transactions", logged, targets[1]->txns()));
  }
  int64_t waiting = targets[2]->db()->QueryInt("SELECT count(*) FROM _owsync_changes");
  int64_t drained = static_cast<int64_t>(live.counters().entries_drained);
  if (drained + waiting != targets[2]->txns()) {
    Die(fmt::format("live capture drained {} + {} waiting changes for {} transactions", drained,
                    waiting, targets[2]->txns()));
  }

  Row row;
  row.name = fmt::format("{:<6} {:<6} {}", c.synchronous, c.journal,
                         c.size == RowSize::kMessage ? "msg~400B" : "chat~20KB");
  row.base_us = Median(us[0]);
  row.trig_us = Median(us[1]);
  row.live_us = Median(us[2]);
  row.trig_ratio = Median(trig_ratios);
  row.live_ratio = Median(live_ratios);
  row.trig_lo = *std::min_element(trig_ratios.begin(), trig_ratios.end());
  row.trig_hi = *std::max_element(trig_ratios.begin(), trig_ratios.end());
  row.live_lo = *std::min_element(live_ratios.begin(), live_ratios.end());
  row.live_hi = *std::max_element(live_ratios.begin(), live_ratios.end());
  row.goal = c.goal;
  row.batch = n;
  row.fsync_ms = fsync_ms;
  return row;
}

int Main(int argc, char** argv) {
  BenchFlags flags = ParseFlags(argc, argv);
  auto fs = NewPosixFileSystem();
  auto clock = NewSystemClock();
  auto logger = NewStderrLogger("capture", LogLevel::kWarn);

  fmt::print("capture_overhead_bench: application write overhead of capture{}\n",
             flags.quick ? " (--quick)" : "");
  fmt::print(
      "  single-row transactions, INSERT then UPDATE of that row alternating; median us per "
      "transaction over {} rounds (rotating order); ratio = median over rounds of "
      "(batch / base batch of the same round) [min-max]\n",
      flags.quick ? 2 : 9);
  fmt::print(
      "  base = no capture; triggers = capture installed, not running; live = capture "
      "installed and running (CaptureLoop::Run, library defaults); fsync ms = median 4 KiB "
      "append+fdatasync in the databases' directory just before the configuration ran\n");
  fmt::print("  {}\n", MachineLine());

  std::vector<Config> configs;
  for (const char* sync : {"FULL", "NORMAL"}) {
    for (const char* journal : {"wal", "delete"}) {
      for (RowSize size : {RowSize::kMessage, RowSize::kChat}) {
        configs.push_back({sync, journal, size, std::string(sync) == "FULL" ? 1.10 : 1.30});
      }
    }
  }
  fmt::print("\n{:<24} {:>8} {:>6} {:>9} {:>9} {:>22} {:>9} {:>22} {:>5} {:>18}\n", "config",
             "fsync ms", "batch", "base us", "trig us", "triggers/base", "live us", "live/base",
             "goal", "verdict trig/live");
  std::fflush(stdout);
  for (const Config& c : configs) {
    Row r = RunConfig(c, flags.quick, fs.get(), clock.get(), logger.get());
    fmt::print("{:<24} {:>8.2f} {:>6} {:>9.1f} {:>9.1f} {:>22} {:>9.1f} {:>22} {:>5} {:>18}\n",
               r.name, r.fsync_ms, r.batch, r.base_us, r.trig_us,
               fmt::format("{:.2f}x [{:.2f}-{:.2f}]", r.trig_ratio, r.trig_lo, r.trig_hi),
               r.live_us,
               fmt::format("{:.2f}x [{:.2f}-{:.2f}]", r.live_ratio, r.live_lo, r.live_hi),
               fmt::format("{:.2f}", r.goal),
               Verdict(r.trig_ratio <= r.goal) + "/" + Verdict(r.live_ratio <= r.goal));
    std::fflush(stdout);
  }
  fmt::print("  {}\n", MachineLine());
  return 0;
}

}  // namespace
}  // namespace owsync::bench

int main(int argc, char** argv) { return owsync::bench::Main(argc, argv); }
