// Replication lag, SQLite commit -> PostgreSQL commit (issue 4, bench cell 3).
//
// One tenant (Open WebUI v0.11.0 schema, 200 chats and 1000 messages to start with), provisioned
// by `owsync provision`; `owsync capture` and `owsync ship` run continuously as child
// processes with their defaults (what a deployment runs). An application thread here writes
// at a steady rate (default 500 transactions/s, paced by schedule, autocommit, WAL,
// synchronous=NORMAL): 90 % INSERT of a chat_message row (~400 B), 10 % UPDATE of a chat row
// (~20 KB JSON). Every write stamps a unique number into updated_at and records the wall time
// right after its COMMIT returned. In PostgreSQL a deferred constraint trigger on both tables
// (it runs at COMMIT, just before the commit record) stores clock_timestamp() per stamp; both
// clocks are this machine's CLOCK_REALTIME. lag = arrival - SQLite commit, per write.
// Goal: p50 <= 200 ms, p99 <= 1 s.
//
// The "baseline" of this cell is the floor the configuration sets: capture polls the changelog
// every --poll-ms (default 100 ms), the shipper's reader polls the watermark every 5-100 ms;
// both printed. `--poll-ms N` runs capture with another poll period.
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bench/ship_bench_util.h"

namespace owsync::bench {
namespace {

constexpr int64_t kStampBase = 2'000'000'000;

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int Main(int argc, char** argv) {
  BenchFlags flags = ParseFlags(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows when redirected
  auto fs = NewPosixFileSystem();
  auto clock = NewSystemClock();
  auto logger = NewStderrLogger("ship", LogLevel::kWarn);
  double seconds = flags.quick ? 10 : 60;
  double rate = 500;
  std::string poll_ms;
  for (size_t i = 0; i + 1 < flags.rest.size(); ++i) {
    if (flags.rest[i] == "--seconds") seconds = std::atof(flags.rest[i + 1].c_str());
    if (flags.rest[i] == "--rate") rate = std::atof(flags.rest[i + 1].c_str());
    if (flags.rest[i] == "--poll-ms") poll_ms = flags.rest[i + 1];
  }
  fmt::print(
      "ship_lag_bench: SQLite commit -> PostgreSQL commit at {:.0f} writes/s for {:.0f} s "
      "(capture --poll-ms {}){}\n",
      rate, seconds, poll_ms.empty() ? "100 (default)" : poll_ms, flags.quick ? " (--quick)" : "");
  ShipBenchPg pg(fs.get(), clock.get(), logger.get());
  fmt::print("  PostgreSQL {} ({})\n  {}\n", pg.ServerVersion(), pg.where(), MachineLine());
  auto dir = Take(ScopedTempDir::Create("owsync-bench-lag-"), "temp dir");
  const std::string client = "bench_lag", db = dir.Child("webui.db");
  const std::string root = dir.Child("outbox");
  CreateOpenWebUiDb(db, "wal");
  FillTenantDb(db, 200, 1000, 31);
  pg.Provision(client, db, dir.Child("provision.log"));
  pg.Admin(
      "CREATE TABLE public.bench_arrival (stamp bigint PRIMARY KEY, arrived_at timestamptz NOT "
      "NULL); "
      "CREATE FUNCTION public.bench_arrival_fn() RETURNS trigger LANGUAGE plpgsql SECURITY "
      "DEFINER SET search_path = pg_catalog AS $$ BEGIN IF NEW.updated_at >= " +
      std::to_string(kStampBase - 1) +
      " THEN INSERT INTO public.bench_arrival VALUES (NEW.updated_at, clock_timestamp()) ON "
      "CONFLICT DO NOTHING; END IF; RETURN NULL; END $$; "
      "CREATE CONSTRAINT TRIGGER bench_arrival AFTER INSERT OR UPDATE ON " +
      Quote(client) +
      ".chat DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "
      "public.bench_arrival_fn(); "
      "CREATE CONSTRAINT TRIGGER bench_arrival AFTER INSERT OR UPDATE ON " +
      Quote(client) +
      ".chat_message DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "
      "public.bench_arrival_fn()");

  std::vector<std::string> capture_args = {"capture",           "--db",     db,    "--outbox",
                                           root + "/" + client, "--client", client};
  if (!poll_ms.empty()) {
    capture_args.push_back("--poll-ms");
    capture_args.push_back(poll_ms);
  }
  cli::ChildProcess capture = pg.Start(capture_args, dir.Child("capture.log"));
  // `owsync ship` needs the outbox root with the tenant's outbox in it: capture creates it.
  for (int i = 0; i < 1200 && !fs->FileExists(root + "/" + client + "/IDENTITY"); ++i) {
    clock->SleepForMicros(50'000);
  }
  cli::ChildProcess ship = pg.Start({"ship", "--outbox-root", root}, dir.Child("ship.log"));

  AppDb app(db);
  app.Exec("PRAGMA synchronous=NORMAL");
  auto wait_arrival = [&](int64_t stamp, double timeout_s) {
    double t0 = NowSeconds(clock.get());
    while (NowSeconds(clock.get()) - t0 < timeout_s) {
      if (pg.AdminInt("SELECT count(*) FROM public.bench_arrival WHERE stamp = " +
                      std::to_string(stamp)) == 1) {
        return true;
      }
      if (!capture.running() || !ship.running()) break;
      clock->SleepForMicros(50'000);
    }
    return false;
  };
  // Warm-up: capture installed and the initial snapshot shipped once a marker arrives.
  {
    double t0 = NowSeconds(clock.get());
    bool ok = false;
    while (!ok && NowSeconds(clock.get()) - t0 < 120) {
      ok = app.TryExec(("UPDATE chat SET updated_at = " + std::to_string(kStampBase - 1) +
                        " WHERE rowid = (SELECT min(rowid) FROM chat)")
                           .c_str()) == SQLITE_OK &&
           app.QueryInt("SELECT count(*) FROM sqlite_master WHERE name = '_owsync_changes'") > 0 &&
           wait_arrival(kStampBase - 1, 10);
    }
    if (!ok) {
      Die("warm-up: the marker never arrived; capture log:\n" +
          ReadSmallFile(dir.Child("capture.log")) + "\nship log:\n" +
          ReadSmallFile(dir.Child("ship.log")));
    }
    fmt::print("  warm-up: capture installed, snapshot shipped, marker arrived after {:.1f} s\n",
               NowSeconds(clock.get()) - t0);
  }

  Rng rng(77);
  std::vector<std::string> chat_ids;
  {
    AppStmt ids(&app, "SELECT id FROM chat");
    while (sqlite3_step(ids.get()) == SQLITE_ROW) {
      chat_ids.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(ids.get(), 0)));
    }
  }
  std::vector<std::string> chats, contents;
  for (int i = 0; i < 16; ++i) chats.push_back(ChatJson(&rng, 20 * 1024));
  for (int i = 0; i < 64; ++i) contents.push_back(MessageContent(&rng, 240));
  AppStmt ins(&app,
              "INSERT INTO chat_message (id, chat_id, user_id, role, parent_id, content, "
              "model_id, done, created_at, updated_at) VALUES (?1, ?2, 'u', 'user', NULL, ?3, "
              "'llama3.1:8b', 1, ?4, ?4)");
  AppStmt upd(&app, "UPDATE chat SET chat = ?2, updated_at = ?3 WHERE id = ?1");

  const int64_t total = static_cast<int64_t>(seconds * rate);
  std::vector<int64_t> committed(static_cast<size_t>(total), 0);
  std::vector<int64_t> key_of(static_cast<size_t>(total), -1);  // chat index of an update
  std::vector<double> commit_ms;
  int64_t updates = 0, late = 0;
  double cpu0 = ReadProcCpu(ship.pid()).cpu_seconds, cap0 = ReadProcCpu(capture.pid()).cpu_seconds;
  const int64_t start = clock->MonotonicMicros();
  for (int64_t i = 0; i < total; ++i) {
    int64_t due = start + static_cast<int64_t>(static_cast<double>(i) * 1e6 / rate);
    int64_t now = clock->MonotonicMicros();
    if (due > now) {
      clock->SleepForMicros(due - now);
    } else if (now - due > 100'000) {
      ++late;
    }
    const int64_t stamp = kStampBase + i;
    int64_t t0 = clock->MonotonicMicros();
    int rc;
    if (rng.Uniform(10) == 0) {
      size_t k = rng.Uniform(chat_ids.size());
      key_of[static_cast<size_t>(i)] = static_cast<int64_t>(k);
      upd.Text(1, chat_ids[k]);
      upd.Text(2, chats[rng.Uniform(chats.size())]);
      upd.Int(3, stamp);
      rc = upd.Run();
      ++updates;
    } else {
      std::string id = Uuid(&rng);
      ins.Text(1, id);
      ins.Text(2, chat_ids[rng.Uniform(chat_ids.size())]);
      ins.Text(3, contents[rng.Uniform(contents.size())]);
      ins.Int(4, stamp);
      rc = ins.Run();
    }
    if (rc != SQLITE_DONE) Die(fmt::format("write {}: {}", i, sqlite3_errstr(rc)));
    committed[static_cast<size_t>(i)] = WallMicros();
    commit_ms.push_back(static_cast<double>(clock->MonotonicMicros() - t0) / 1e3);
  }
  const double wrote_s = static_cast<double>(clock->MonotonicMicros() - start) / 1e6;
  // Wait for the last write (and so, offsets being ordered, every write) to arrive.
  const bool all = wait_arrival(kStampBase + total - 1, 120);
  double ship_cpu = ReadProcCpu(ship.pid()).cpu_seconds - cpu0;
  double cap_cpu = ReadProcCpu(capture.pid()).cpu_seconds - cap0;
  Check(ship.Signal(SIGTERM), "stop ship");
  Check(capture.Signal(SIGTERM), "stop capture");
  (void)ship.WaitFor(clock.get(), 30'000'000);
  (void)capture.WaitFor(clock.get(), 30'000'000);

  shipper::PgResult res = pg.Admin(
      "SELECT stamp, (extract(epoch FROM arrived_at) * 1000000)::bigint FROM public.bench_arrival "
      "WHERE stamp >= " +
      std::to_string(kStampBase));
  std::vector<int64_t> arrived(static_cast<size_t>(total), 0);
  for (int r = 0; r < res.rows(); ++r) {
    int64_t stamp = std::atoll(std::string(res.GetValue(r, 0)).c_str()) - kStampBase;
    int64_t at = std::atoll(std::string(res.GetValue(r, 1)).c_str());
    if (stamp >= 0 && stamp < total) arrived[static_cast<size_t>(stamp)] = at;
  }
  // Two updates of one chat row drained together ship as one row image (the newer): the older
  // write is visible once the newer arrives. Its lag counts up to that arrival.
  std::vector<double> lag_ms;
  std::map<int64_t, int64_t> next_arrival;  // chat index -> arrival of a later version
  int64_t coalesced = 0, lost = 0;
  for (int64_t i = total - 1; i >= 0; --i) {
    const size_t u = static_cast<size_t>(i);
    int64_t at = arrived[u];
    if (at == 0 && key_of[u] >= 0 && next_arrival.count(key_of[u]) > 0) {
      at = next_arrival[key_of[u]];
      ++coalesced;
    }
    if (key_of[u] >= 0 && arrived[u] != 0) next_arrival[key_of[u]] = arrived[u];
    if (at == 0) {
      ++lost;
      continue;
    }
    lag_ms.push_back(static_cast<double>(at - committed[u]) / 1e3);
  }
  const int64_t missing = lost;
  fmt::print(
      "  wrote {} transactions ({} chat updates ~20 KB, {} message inserts) in {:.1f} s = "
      "{:.0f}/s; SQLite commit p50 {:.2f} ms, p99 {:.2f} ms; {} writes > 100 ms behind "
      "schedule\n",
      total, updates, total - updates, wrote_s, static_cast<double>(total) / wrote_s,
      Percentile(commit_ms, 50), Percentile(commit_ms, 99), late);
  fmt::print("  CPU during the load: owsync ship {:.1f} % of a core, owsync capture {:.1f} %\n",
             100 * ship_cpu / wrote_s, 100 * cap_cpu / wrote_s);
  fmt::print(
      "  {} chat updates coalesced with a later update of the same row (lag counted to "
      "the later version's arrival); {} writes never arrived{}\n",
      coalesced, missing, all ? "" : " (the last write did not arrive in 120 s)");
  if (lag_ms.empty()) Die("no arrival recorded");
  double p50 = Percentile(lag_ms, 50), p90 = Percentile(lag_ms, 90), p99 = Percentile(lag_ms, 99),
         mx = *std::max_element(lag_ms.begin(), lag_ms.end()),
         mn = *std::min_element(lag_ms.begin(), lag_ms.end());
  fmt::print("\n{:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>22} {:>8}\n", "lag ms", "n", "min",
             "p50", "p90", "p99", "max", "goal", "verdict");
  fmt::print("{:<10} {:>9} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>22} {:>8}\n", "all",
             lag_ms.size(), mn, p50, p90, p99, mx, "p50<=200 p99<=1000",
             Verdict(p50 <= 200 && p99 <= 1000 && missing == 0));
  fmt::print("  {}\n", MachineLine());
  return 0;
}

}  // namespace
}  // namespace owsync::bench

int main(int argc, char** argv) { return owsync::bench::Main(argc, argv); }
