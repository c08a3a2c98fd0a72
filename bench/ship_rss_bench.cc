// Shipper peak RSS with a 1 GB backlog (issue 4, bench cell 4).
//
// One tenant (Open WebUI v0.11.0 schema) with ~1 GB of rows: 45 000 chat rows of ~20 KB JSON
// and 200 000 chat_message rows of ~400 B (--quick: a tenth). Capture is installed through the
// capture library: its initial snapshot puts every row in the outbox (the backlog). Then the
// real `owsync ship --once` runs as a child process from acked offset 0; its VmHWM and VmRSS
// are read from /proc/<pid>/status every 20 ms, and getrusage(RUSAGE_CHILDREN) after it was
// reaped cross-checks the peak. Baseline (same run, same binary and server): `owsync ship
// --once` again with nothing left to ship — the start-up footprint.
// Goal: peak RSS <= 100 MB with the backlog.
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "bench/ship_bench_util.h"
#include "outbox/outbox_reader.h"

namespace owsync::bench {
namespace {

struct Peak {
  int64_t hwm_kb = 0, rss_max_kb = 0;
  double seconds = 0;
};

int64_t StatusKb(const std::string& status, const char* field) {
  size_t at = status.find(field);
  if (at == std::string::npos) return 0;
  return std::atoll(status.c_str() + at + std::strlen(field));
}

Peak ShipOnce(ShipBenchPg* pg, Clock* clock, const std::string& root, const std::string& log) {
  Peak p;
  double t0 = NowSeconds(clock);
  cli::ChildProcess child = pg->Start({"ship", "--outbox-root", root, "--once"}, log);
  const std::string status_path = fmt::format("/proc/{}/status", child.pid());
  while (true) {
    std::string status = ReadSmallFile(status_path);
    p.hwm_kb = std::max(p.hwm_kb, StatusKb(status, "VmHWM:"));
    p.rss_max_kb = std::max(p.rss_max_kb, StatusKb(status, "VmRSS:"));
    auto done = Take(child.TryWait(), "wait for owsync ship");
    if (done.has_value()) {
      if (cli::ExitCodeOf(*done) != 0) {
        Die("owsync ship --once " + cli::DescribeWaitStatus(*done) + ":\n" + ReadSmallFile(log));
      }
      break;
    }
    clock->SleepForMicros(20'000);
  }
  p.seconds = NowSeconds(clock) - t0;
  return p;
}

int Main(int argc, char** argv) {
  BenchFlags flags = ParseFlags(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows when redirected
  auto fs = NewPosixFileSystem();
  auto clock = NewSystemClock();
  auto logger = NewStderrLogger("ship", LogLevel::kWarn);
  const int64_t chats = flags.quick ? 4500 : 45000, messages = flags.quick ? 20000 : 200000;
  fmt::print(
      "ship_rss_bench: peak RSS of `owsync ship --once` with a backlog of {} chat + {} "
      "chat_message rows{}\n",
      chats, messages, flags.quick ? " (--quick)" : "");
  ShipBenchPg pg(fs.get(), clock.get(), logger.get());
  fmt::print("  PostgreSQL {} ({})\n  {}\n", pg.ServerVersion(), pg.where(), MachineLine());
  auto dir = Take(ScopedTempDir::Create("owsync-bench-rss-"), "temp dir");
  const std::string client = "bench_rss", db = dir.Child("webui.db");
  const std::string root = dir.Child("outbox"), outbox = root + "/" + client;
  double t0 = NowSeconds(clock.get());
  CreateOpenWebUiDb(db, "wal");
  FillTenantDb(db, chats, messages, 41);
  InstallCapture(fs.get(), clock.get(), logger.get(), db, outbox);
  pg.Provision(client, db, dir.Child("provision.log"));
  // The backlog: row bytes (text/blob lengths, 8 per number) and the outbox on disk.
  uint64_t row_bytes = 0, records = 0;
  {
    auto reader = Take(outbox::OutboxReader::Open(fs.get(), outbox, 0), "open outbox");
    outbox::Record r;
    while (Take(reader->Next(&r), "read outbox")) {
      ++records;
      for (const outbox::Value& v : r.row) {
        row_bytes += v.type == outbox::ValueType::kText || v.type == outbox::ValueType::kBlob
                         ? v.bytes.size()
                         : (v.is_null() ? 0 : 8);
      }
    }
  }
  uint64_t disk = 0;
  for (const std::string& name : Take(fs->GetChildren(outbox), "list outbox")) {
    auto size = fs->GetFileSize(outbox + "/" + name);
    if (size.ok()) disk += *size;
  }
  fmt::print(
      "  backlog: {} records, {:.0f} MB of row data, outbox {:.0f} MB on disk (zstd); "
      "prepared in {:.0f} s\n",
      records, static_cast<double>(row_bytes) / 1e6, static_cast<double>(disk) / 1e6,
      NowSeconds(clock.get()) - t0);
  std::fflush(stdout);

  pg.Admin("CHECKPOINT");
  Peak backlog = ShipOnce(&pg, clock.get(), root, dir.Child("ship-backlog.log"));
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  const int64_t rows =
      pg.AdminInt("SELECT (SELECT count(*) FROM " + Quote(client) +
                  ".chat) + (SELECT count(*) FROM " + Quote(client) + ".chat_message)");
  if (rows != chats + messages) Die(fmt::format("{} rows in PostgreSQL after the run", rows));
  Peak idle = ShipOnce(&pg, clock.get(), root, dir.Child("ship-idle.log"));

  fmt::print("\n{:<34} {:>10} {:>12} {:>9} {:>10} {:>10} {:>8}\n", "run", "VmHWM MB",
             "max VmRSS MB", "seconds", "row MB/s", "goal", "verdict");
  fmt::print("{:<34} {:>10.1f} {:>12.1f} {:>9.1f} {:>10.1f} {:>10} {:>8}\n",
             "ship --once, the backlog", backlog.hwm_kb / 1024.0, backlog.rss_max_kb / 1024.0,
             backlog.seconds, static_cast<double>(row_bytes) / 1e6 / backlog.seconds, "<=100MB",
             Verdict(backlog.hwm_kb / 1024.0 <= 100));
  fmt::print("{:<34} {:>10.1f} {:>12.1f} {:>9.1f} {:>10} {:>10} {:>8}\n",
             "baseline: ship --once, no backlog", idle.hwm_kb / 1024.0, idle.rss_max_kb / 1024.0,
             idle.seconds, "-", "", "");
  fmt::print(
      "  backlog/baseline peak: {:.2f}x; getrusage(RUSAGE_CHILDREN) max RSS of the "
      "children reaped by then (provision, ship): {:.1f} MB\n",
      static_cast<double>(backlog.hwm_kb) / static_cast<double>(std::max<int64_t>(idle.hwm_kb, 1)),
      ru.ru_maxrss / 1024.0);
  fmt::print("  {}\n", MachineLine());
  return 0;
}

}  // namespace
}  // namespace owsync::bench

int main(int argc, char** argv) { return owsync::bench::Main(argc, argv); }
