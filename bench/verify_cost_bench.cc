// What in-stream verification costs shipping (issue 10): end-to-end throughput with
// verification off and on at its default budget.
//
// One tenant (Open WebUI v0.11.0 schema) with a sizable copy to verify (1500 chats of ~20 KB and
// 15000 messages to start with; --quick: 300 and 3000), provisioned and shipped once. Then, in
// rounds that alternate off / on (3 each; --quick 1), `owsync capture` (continuous,
// `--verify-every off`, or its defaults: a pass at once, 100 rows/s, 200 rows per verify
// record) and `owsync ship` (continuous) run while the application writes a fixed load as fast
// as it can (90 % chat_message inserts ~400 B, 10 % chat updates ~20 KB; autocommit, WAL). A
// round's throughput is the transactions of its load divided by the time from the first write
// until PostgreSQL acknowledged everything (the changelog empty, acked == durable). The verify
// state is reset before each "on" round, so each starts a pass. Reported: the median of each
// side and their ratio; goal on/off >= 0.95. Also counted: verify records shipped in "on"
// rounds and drift found (must be 0: the copy is equal).
#include <cstdio>
#include <string>
#include <vector>

#include "bench/ship_bench_util.h"
#include "outbox/outbox_reader.h"

namespace owsync::bench {
namespace {

struct Round {
  bool verify = false;
  double seconds = 0;
  double tps = 0;
  int64_t verify_records = 0;
};

int Main(int argc, char** argv) {
  BenchFlags flags = ParseFlags(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  auto fs = NewPosixFileSystem();
  auto clock = NewSystemClock();
  auto logger = NewStderrLogger("verify", LogLevel::kWarn);
  const int64_t chats = flags.quick ? 300 : 1500, messages = flags.quick ? 3000 : 15000;
  const int64_t load = flags.quick ? 20000 : 100000;
  const int rounds = flags.quick ? 1 : 3;
  fmt::print(
      "verify_cost_bench: shipping throughput with in-stream verification off vs on (default "
      "budget), {} chats + {} messages to verify, {} transactions per round, {} round(s) "
      "each{}\n",
      chats, messages, load, rounds, flags.quick ? " (--quick)" : "");
  ShipBenchPg pg(fs.get(), clock.get(), logger.get());
  fmt::print("  PostgreSQL {} ({})\n  {}\n", pg.ServerVersion(), pg.where(), MachineLine());
  auto dir = Take(ScopedTempDir::Create("owsync-bench-verify-"), "temp dir");
  const std::string client = "bench_verify", db = dir.Child("webui.db");
  const std::string root = dir.Child("outbox"), outbox = root + "/" + client;
  CreateOpenWebUiDb(db, "wal");
  FillTenantDb(db, chats, messages, 41);
  pg.Provision(client, db, dir.Child("provision.log"));
  pg.Run({"capture", "--db", db, "--outbox", outbox, "--client", client, "--once", "--verify-every",
          "off"},
         dir.Child("capture-once.log"));
  pg.Run({"ship", "--outbox-root", root, "--once"}, dir.Child("ship-once.log"));

  AppDb app(db);
  app.Exec("PRAGMA synchronous=NORMAL");
  AppStmt msg(&app,
              "INSERT INTO chat_message (id, chat_id, user_id, role, content, model_id, done, "
              "created_at, updated_at) VALUES (?1, (SELECT id FROM chat LIMIT 1 OFFSET ?2), 'u', "
              "'user', ?3, 'llama3.1:8b', 1, ?4, ?4)");
  AppStmt upd(&app, "UPDATE chat SET chat = ?1, updated_at = ?2 WHERE rowid = ?3");
  Rng rng(7);
  int64_t stamp = 1800000000;
  auto acked = [&]() {
    return pg.AdminInt(
        "SELECT acked_offset FROM sync_metadata.tenant_offsets WHERE client_name = '" + client +
        "'");
  };
  auto durable = [&]() -> int64_t {
    auto reader = Take(outbox::OutboxReader::Open(fs.get(), outbox, 0), "open outbox");
    return static_cast<int64_t>(Take(reader->RefreshWatermark(), "watermark"));
  };
  auto verified = [&]() {
    return pg.AdminInt(
        "SELECT verified_ranges FROM sync_metadata.tenant_offsets WHERE client_name = '" + client +
        "'");
  };

  std::vector<Round> results;
  for (int i = 0; i < 2 * rounds; ++i) {
    Round round;
    round.verify = i % 2 == 1;
    if (round.verify) app.Exec("DELETE FROM _owsync_meta WHERE key LIKE 'verify:%'");
    const int64_t verified_before = verified();
    std::vector<std::string> cap = {"capture", "--db", db, "--outbox", outbox, "--client", client};
    if (!round.verify) cap.insert(cap.end(), {"--verify-every", "off"});
    cli::ChildProcess capture = pg.Start(cap, dir.Child("capture.log"));
    cli::ChildProcess ship = pg.Start({"ship", "--outbox-root", root}, dir.Child("ship.log"));
    clock->SleepForMicros(2'000'000);  // both running and idle
    const double t0 = NowSeconds(clock.get());
    for (int64_t t = 0; t < load; ++t) {
      ++stamp;
      if (rng.Chance(0.1)) {
        upd.Text(1, ChatJson(&rng, 20 * 1024));
        upd.Int(2, stamp);
        upd.Int(3, 1 + static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(chats))));
        upd.MustRun();
      } else {
        const std::string id = Uuid(&rng), content = MessageContent(&rng, 240);
        msg.Text(1, id);
        msg.Int(2, static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(chats))));
        msg.Text(3, content);
        msg.Int(4, stamp);
        msg.MustRun();
      }
    }
    // Everything written is acknowledged: the changelog drained and acked == durable.
    while (true) {
      if (!capture.running() || !ship.running()) {
        Die("a process died; capture log:\n" + ReadSmallFile(dir.Child("capture.log")) +
            "\nship log:\n" + ReadSmallFile(dir.Child("ship.log")));
      }
      if (app.QueryInt("SELECT count(*) FROM _owsync_changes") == 0) {
        const int64_t d = durable();
        if (d > 0 && acked() >= d) break;
      }
      clock->SleepForMicros(20'000);
    }
    round.seconds = NowSeconds(clock.get()) - t0;
    round.tps = static_cast<double>(load) / round.seconds;
    Check(ship.Signal(SIGTERM), "stop ship");
    Check(capture.Signal(SIGTERM), "stop capture");
    (void)ship.WaitFor(clock.get(), 30'000'000);
    (void)capture.WaitFor(clock.get(), 30'000'000);
    round.verify_records = verified() - verified_before;
    fmt::print(
        "  round {} verification {:>3}: {} transactions shipped in {:.2f} s = {:.0f}/s; "
        "{} verify records\n",
        i + 1, round.verify ? "on" : "off", load, round.seconds, round.tps, round.verify_records);
    results.push_back(round);
  }
  std::vector<double> off, on, paired;
  int64_t verify_records = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    const Round& r = results[i];
    (r.verify ? on : off).push_back(r.tps);
    if (r.verify) verify_records += r.verify_records;
    if (r.verify && i > 0) paired.push_back(r.tps / results[i - 1].tps);  // vs the round before
  }
  const int64_t drift = pg.AdminInt("SELECT count(*) FROM sync_metadata.drift_log");
  const double ratio = Median(on) / Median(off);
  fmt::print("\n{:<34} {:>12} {:>14} {:>8} {:>10}\n", "shipping throughput", "off tx/s", "on tx/s",
             "on/off", "verdict");
  fmt::print("{:<34} {:>12.0f} {:>14.0f} {:>8.2f} {:>10}\n", "median of rounds", Median(off),
             Median(on), ratio, Verdict(ratio >= 0.95));
  fmt::print(
      "  off {} tx/s; on {} tx/s; {} verify records shipped in the on rounds; {} drift "
      "found (an equal copy: must be 0)\n",
      Range(off, "{:.0f}"), Range(on, "{:.0f}"), verify_records, drift);
  if (verify_records == 0) Die("verification never ran in the on rounds");
  fmt::print("  {}\n", MachineLine());
  return drift == 0 ? 0 : 1;
}

}  // namespace
}  // namespace owsync::bench

int main(int argc, char** argv) { return owsync::bench::Main(argc, argv); }
