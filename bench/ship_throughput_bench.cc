// Shipper throughput (issue 4, bench cells 1 and 2), each against a baseline measured in the
// same run on the same PostgreSQL, on the same rows and the same COPY text.
//
// Two tenants, each a SQLite database with the Open WebUI v0.11.0 schema: "chat" holds N chat
// rows (~20 KB JSON), "msg" N chat_message rows (~400 B). Capture is installed through the
// capture library (its initial snapshot writes the outbox: schema records, snapshot begin,
// one upsert per row, snapshot end), the tenants are provisioned by `owsync provision`.
//
// Cell 1, initial sync (target table emptied with TRUNCATE before every run):
//   baseline  one transaction, one `COPY <table> (...) FROM STDIN` of the COPY text the shipper
//             produces for the same rows (CopyEncoder, same columns, _owsync_offset included),
//             prepared in memory before the clock starts;
//   shipper   TenantShipper (once, holding a Lease) from acked offset 0 to the end of the
//             outbox: reading, decoding, batching, encoding, COPY, offset row, commits.
// Cell 2, steady updates: every row of the table is updated once in SQLite and drained into
// the outbox (one upsert per key). Before every run the target rows get _owsync_offset = 0
// (then VACUUM), so each run moves every row forward:
//   baseline  by hand, in batches of the shipper's size (BATCH_SIZE rows / BATCH_BYTES of COPY
//             text): BEGIN; CREATE TEMP TABLE ... ON COMMIT DROP; COPY into it; INSERT INTO
//             target SELECT ... ON CONFLICT (key) DO UPDATE SET every column; COMMIT;
//   shipper   TenantShipper from the acked offset at the end of the snapshot to the end.
// CHECKPOINT before every timed run; runs alternate which side goes first. Goal: shipper
// throughput >= 0.8x of the baseline's. MB = bytes of COPY text.
#include <cstdio>
#include <string>
#include <vector>

#include "bench/ship_bench_util.h"
#include "outbox/outbox_reader.h"
#include "shipper/copy_encoder.h"
#include "shipper/lease.h"
#include "shipper/lease_epoch_source.h"
#include "shipper/pg_type.h"
#include "shipper/tenant_shipper.h"

namespace owsync::bench {
namespace {

using shipper::Deadline;

struct CopyText {
  std::string data;
  std::vector<size_t> ends;  // end of each row's line in data
  int64_t rows() const { return static_cast<int64_t>(ends.size()); }
  double mb() const { return static_cast<double>(data.size()) / 1e6; }
};

struct Tenant {
  std::string client, table, db, outbox;
  int64_t n = 0;
  std::vector<outbox::Column> columns;
  uint64_t snapshot_end = 0;  // last offset of the initial snapshot
  uint64_t update_end = 0;    // last offset of the update pass
  CopyText snapshot, update;
  std::string qualified, cols, keys, set;
};

// Reads the outbox records with offsets in (from, ...] and encodes the upserts of `t.table` as
// the shipper does (TableApplier::EncodeRow): every column, then _owsync_offset, \N, \N.
// Returns the last offset read.
uint64_t EncodeOutbox(FileSystem* fs, Tenant* t, uint64_t from, CopyText* out) {
  auto reader = Take(outbox::OutboxReader::Open(fs, t->outbox, from + 1), "open outbox");
  outbox::Record r;
  uint64_t last = from;
  while (Take(reader->Next(&r), "read outbox")) {
    last = r.offset;
    if (r.table != t->table) continue;
    if (r.type == outbox::RecordType::kSchema) t->columns = r.columns;
    if (r.type != outbox::RecordType::kUpsert) continue;
    for (size_t c = 0; c < r.row.size(); ++c) {
      Check(shipper::CopyEncoder::AppendField(
                r.row[c], shipper::PgTypeForDeclared(t->columns[c].declared_type), &out->data),
            "encode");
      out->data.push_back('\t');
    }
    out->data += std::to_string(r.offset) + "\t\\N\t\\N\n";
    out->ends.push_back(out->data.size());
  }
  return last;
}

void PrepareSql(Tenant* t, const std::string& client) {
  t->qualified = Quote(client) + "." + Quote(t->table);
  for (const outbox::Column& c : t->columns) {
    t->cols += Quote(c.name) + ", ";
    if (c.key_position > 0) {
      t->keys += (t->keys.empty() ? "" : ", ") + Quote(c.name);
    } else {
      t->set += Quote(c.name) + " = EXCLUDED." + Quote(c.name) + ", ";
    }
  }
  t->cols += "_owsync_offset, _owsync_extra, _owsync_deleted_at";
  t->set +=
      "_owsync_offset = EXCLUDED._owsync_offset, _owsync_extra = EXCLUDED._owsync_extra, "
      "_owsync_deleted_at = NULL";
}

void PutCopy(ShipBenchPg* pg, shipper::PgConnection* conn, Clock* clock, const std::string& sql,
             std::string_view data) {
  Deadline d = Deadline::After(clock, 3600'000'000);
  Check(conn->StartCopyIn(sql, d), "COPY start");
  constexpr size_t kChunk = 1 << 20;
  for (size_t pos = 0; pos < data.size(); pos += kChunk) {
    Check(conn->PutCopyData(data.substr(pos, std::min(kChunk, data.size() - pos)), d), "COPY");
  }
  Check(conn->EndCopyIn(d).status(), "COPY end");
  (void)pg;
}

// Cell 1 baseline: one raw COPY of every row.
double BaselineCopy(ShipBenchPg* pg, Clock* clock, const Tenant& t) {
  auto conn = pg->Connect(pg->role_url());
  double t0 = NowSeconds(clock);
  pg->Exec(&conn,
           "BEGIN; SET LOCAL owsync.applying = 'on'; SET LOCAL default_toast_compression = lz4");
  PutCopy(pg, &conn, clock, "COPY " + t.qualified + " (" + t.cols + ") FROM STDIN",
          t.snapshot.data);
  pg->Exec(&conn, "COMMIT");
  return NowSeconds(clock) - t0;
}

// Cell 2 baseline: staging COPY + upsert by hand, one transaction per batch.
double BaselineUpsert(ShipBenchPg* pg, Clock* clock, const Tenant& t, size_t batch_rows,
                      size_t batch_bytes) {
  auto conn = pg->Connect(pg->role_url());
  const CopyText& c = t.update;
  double t0 = NowSeconds(clock);
  size_t row = 0, start = 0;
  while (row < c.ends.size()) {
    size_t first = row;
    while (row < c.ends.size() && row - first < batch_rows && c.ends[row] - start < batch_bytes) {
      ++row;
    }
    if (row == first) ++row;  // a single row larger than the byte bound ships alone
    pg->Exec(&conn,
             "BEGIN; SET LOCAL owsync.applying = 'on'; SET LOCAL default_toast_compression = lz4; "
             "CREATE TEMP TABLE bench_stage ON COMMIT DROP AS SELECT " +
                 t.cols + " FROM " + t.qualified + " WITH NO DATA");
    PutCopy(pg, &conn, clock, "COPY bench_stage (" + t.cols + ") FROM STDIN",
            std::string_view(c.data).substr(start, c.ends[row - 1] - start));
    pg->Exec(&conn, "INSERT INTO " + t.qualified + " AS t (" + t.cols + ") SELECT " + t.cols +
                        " FROM bench_stage ON CONFLICT (" + t.keys + ") DO UPDATE SET " + t.set +
                        "; COMMIT");
    start = c.ends[row - 1];
  }
  return NowSeconds(clock) - t0;
}

double Ship(FileSystem* fs, Clock* clock, Logger* logger, ShipBenchPg* pg,
            const shipper::EpochSource* epochs, const Tenant& t, bool diag) {
  shipper::TenantShipperOptions o;
  o.client = t.client;
  o.outbox_dir = t.outbox;
  o.url = pg->role_url();
  o.cluster = pg->cluster();
  o.once = true;
  o.write_acked_file = false;
  shipper::TenantShipper s(fs, clock, logger, o, epochs);
  if (diag) pg->Admin("SELECT pg_stat_statements_reset()");
  double t0 = NowSeconds(clock), cpu0 = ProcessCpuSeconds();
  Check(s.Run(), "ship " + t.client);
  double wall = NowSeconds(clock) - t0;
  fmt::print("    shipper process CPU {:.2f} s ({:.0f} % of the wall time), {} batches\n",
             ProcessCpuSeconds() - cpu0, 100 * (ProcessCpuSeconds() - cpu0) / wall,
             s.progress().batches);
  if (diag) {
    shipper::PgResult r = pg->Admin(
        "SELECT calls, round(total_exec_time)::bigint, rows, "
        "regexp_replace(left(query, 110), '\\s+', ' ', 'g') FROM pg_stat_statements WHERE "
        "query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT 8");
    for (int i = 0; i < r.rows(); ++i) {
      fmt::print("    pg_stat_statements: {:>6} calls {:>7} ms {:>8} rows  {}\n", r.GetValue(i, 0),
                 r.GetValue(i, 1), r.GetValue(i, 2), r.GetValue(i, 3));
    }
  }
  return wall;
}

void SetAcked(ShipBenchPg* pg, const Tenant& t, uint64_t acked) {
  pg->Admin(fmt::format(
      "UPDATE sync_metadata.tenant_offsets SET acked_offset = {} WHERE client_name = '{}'", acked,
      t.client));
}

struct Cell {
  std::string name;
  std::vector<double> base_s, ship_s;
};

void PrintRun(const std::string& what, const Tenant& t, const CopyText& c, double s) {
  fmt::print("  {:<28} {:>8} rows {:>8.1f} MB {:>8.2f} s {:>10.0f} rows/s {:>7.1f} MB/s\n", what,
             c.rows(), c.mb(), s, static_cast<double>(c.rows()) / s, c.mb() / s);
  (void)t;
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  BenchFlags flags = ParseFlags(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows when redirected
  auto fs = NewPosixFileSystem();
  auto clock = NewSystemClock();
  auto logger = NewStderrLogger("ship", LogLevel::kWarn);
  int rounds = flags.quick ? 2 : 3;
  int64_t n_chat = flags.quick ? 2000 : 20000, n_msg = flags.quick ? 20000 : 200000;
  std::string only;   // --cell initial|update
  bool diag = false;  // --diag: pg_stat_statements of every shipper run
  for (size_t i = 0; i < flags.rest.size(); ++i) {
    if (flags.rest[i] == "--diag") diag = true;
    if (i + 1 >= flags.rest.size()) continue;
    if (flags.rest[i] == "--cell") only = flags.rest[i + 1];
    if (flags.rest[i] == "--rounds") rounds = std::atoi(flags.rest[i + 1].c_str());
  }
  const size_t batch_rows = shipper::TenantShipperOptions().batch_rows;
  const size_t batch_bytes = shipper::TenantShipperOptions().batch_bytes;

  fmt::print(
      "ship_throughput_bench: shipper vs raw COPY (initial sync) and vs COPY+upsert by "
      "hand (steady updates){}\n",
      flags.quick ? " (--quick)" : "");
  ShipBenchPg pg(fs.get(), clock.get(), logger.get());
  fmt::print("  PostgreSQL {} ({}); {} rounds; batches of {} rows / {} MiB\n  {}\n",
             pg.ServerVersion(), pg.where(), rounds, batch_rows, batch_bytes >> 20, MachineLine());
  auto dir = Take(ScopedTempDir::Create("owsync-bench-ship-"), "temp dir");

  std::vector<Tenant> tenants(2);
  tenants[0].client = "bench_chat";
  tenants[0].table = "chat";
  tenants[0].n = n_chat;
  tenants[1].client = "bench_msg";
  tenants[1].table = "chat_message";
  tenants[1].n = n_msg;
  for (Tenant& t : tenants) {
    t.db = dir.Child(t.client + ".db");
    t.outbox = dir.Child("outbox/" + t.client);
    double t0 = NowSeconds(clock.get());
    CreateOpenWebUiDb(t.db, "wal");
    FillTenantDb(t.db, t.table == "chat" ? t.n : 0, t.table == "chat" ? 0 : t.n,
                 t.table == "chat" ? 21 : 22);
    InstallCapture(fs.get(), clock.get(), logger.get(), t.db, t.outbox);
    t.snapshot_end = EncodeOutbox(fs.get(), &t, 0, &t.snapshot);
    if (t.snapshot.rows() != t.n) Die(fmt::format("{}: {} rows in the outbox", t.client, t.n));
    pg.Provision(t.client, t.db, dir.Child(t.client + "-provision.log"));
    PrepareSql(&t, t.client);
    fmt::print(
        "  tenant {}: {} {} rows, {:.1f} MB of COPY text, outbox offsets 1..{} "
        "(prepared in {:.1f} s)\n",
        t.client, t.n, t.table, t.snapshot.mb(), t.snapshot_end, NowSeconds(clock.get()) - t0);
  }

  if (diag) pg.Admin("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  shipper::LeaseOptions lo;
  lo.cluster = pg.cluster();
  lo.node_id = shipper::Lease::MakeNodeId(pg.host(), "bench");
  shipper::Lease lease(clock.get(), logger.get(), pg.role_url(), lo);
  Check(lease.AcquireAndKeep(Deadline::After(clock.get(), 60'000'000)), "lease");
  shipper::LeaseEpochSource epochs(&lease);

  std::vector<Cell> cells;
  if (only.empty() || only == "initial") {
    fmt::print("\ncell 1: initial sync (TRUNCATE + CHECKPOINT before each run)\n");
    for (Tenant& t : tenants) {
      Cell cell{
          t.table == "chat" ? "1. initial sync, chat ~20KB" : "1. initial sync, msg ~400B", {}, {}};
      for (int r = 0; r < rounds; ++r) {
        for (int side = 0; side < 2; ++side) {
          bool baseline = (side == 0) == (r % 2 == 0);
          pg.Admin("TRUNCATE " + t.qualified);
          SetAcked(&pg, t, 0);
          pg.Admin("CHECKPOINT");
          double s = baseline ? BaselineCopy(&pg, clock.get(), t)
                              : Ship(fs.get(), clock.get(), logger.get(), &pg, &epochs, t, diag);
          int64_t rows = pg.AdminInt("SELECT count(*) FROM " + t.qualified);
          if (rows != t.n) Die(fmt::format("{}: {} rows after the run", t.client, rows));
          (baseline ? cell.base_s : cell.ship_s).push_back(s);
          PrintRun(fmt::format("{} r{} {}", t.table, r + 1, baseline ? "raw COPY" : "shipper"), t,
                   t.snapshot, s);
        }
      }
      cells.push_back(cell);
    }
  }
  if (only.empty() || only == "update") {
    fmt::print(
        "\ncell 2: steady updates (every row; _owsync_offset = 0, VACUUM, CHECKPOINT "
        "before each run)\n");
    for (Tenant& t : tenants) {
      // The target must hold the snapshot: ship it once if cell 1 did not run.
      if (pg.AdminInt("SELECT count(*) FROM " + t.qualified) != t.n) {
        pg.Admin("TRUNCATE " + t.qualified);
        SetAcked(&pg, t, 0);
        Ship(fs.get(), clock.get(), logger.get(), &pg, &epochs, t, diag);
      }
      {
        AppDb db(t.db);
        db.Exec(t.table == "chat"
                    ? "UPDATE chat SET updated_at = updated_at + 1, title = title || ' (edited)'"
                    : "UPDATE chat_message SET updated_at = updated_at + 1, done = 0");
      }
      {
        capture::CaptureLoop loop(fs.get(), clock.get(), logger.get(),
                                  CaptureOptionsFor(fs.get(), clock.get(), t.db, t.outbox));
        Check(loop.Start(), "start capture");
        Check(loop.RunUntilCaughtUp(), "drain updates");
      }
      t.update_end = EncodeOutbox(fs.get(), &t, t.snapshot_end, &t.update);
      if (t.update.rows() != t.n) Die(fmt::format("{}: {} updates", t.client, t.update.rows()));
      Cell cell{
          t.table == "chat" ? "2. steady updates, chat ~20KB" : "2. steady updates, msg ~400B",
          {},
          {}};
      for (int r = 0; r < rounds; ++r) {
        for (int side = 0; side < 2; ++side) {
          bool baseline = (side == 0) == (r % 2 == 0);
          pg.Admin("BEGIN; SET LOCAL owsync.applying = 'on'; UPDATE " + t.qualified +
                   " SET _owsync_offset = 0; COMMIT");
          pg.Admin("VACUUM " + t.qualified);
          SetAcked(&pg, t, t.update_end > 0 ? t.snapshot_end : 0);
          pg.Admin("CHECKPOINT");
          double s = baseline ? BaselineUpsert(&pg, clock.get(), t, batch_rows, batch_bytes)
                              : Ship(fs.get(), clock.get(), logger.get(), &pg, &epochs, t, diag);
          int64_t moved = pg.AdminInt(fmt::format(
              "SELECT count(*) FROM {} WHERE _owsync_offset > {}", t.qualified, t.snapshot_end));
          if (moved != t.n) Die(fmt::format("{}: {} rows updated by the run", t.client, moved));
          (baseline ? cell.base_s : cell.ship_s).push_back(s);
          PrintRun(fmt::format("{} r{} {}", t.table, r + 1,
                               baseline ? "COPY+upsert by hand" : "shipper"),
                   t, t.update, s);
        }
      }
      cells.push_back(cell);
    }
  }
  Check(lease.Release(), "release lease");

  fmt::print("\n{:<32} {:>14} {:>14} {:>14} {:>14} {:>8} {:>12} {:>6} {:>8}\n", "cell", "base MB/s",
             "ship MB/s", "base rows/s", "ship rows/s", "ratio", "ratio range", "goal", "verdict");
  for (size_t i = 0; i < cells.size(); ++i) {
    const Cell& c = cells[i];
    const Tenant& t = tenants[i % 2];
    const CopyText& text = c.name[0] == '1' ? t.snapshot : t.update;
    std::vector<double> ratios;
    for (size_t r = 0; r < c.base_s.size() && r < c.ship_s.size(); ++r) {
      ratios.push_back(c.base_s[r] / c.ship_s[r]);
    }
    double base = Median(c.base_s), ship = Median(c.ship_s), ratio = Median(ratios);
    fmt::print("{:<32} {:>14.1f} {:>14.1f} {:>14.0f} {:>14.0f} {:>7.2f}x {:>12} {:>6} {:>8}\n",
               c.name, text.mb() / base, text.mb() / ship, static_cast<double>(text.rows()) / base,
               static_cast<double>(text.rows()) / ship, ratio, Range(ratios, "{:.2f}"), ">=0.8x",
               Verdict(ratio >= 0.8));
  }
  fmt::print("  (medians over rounds; ratio = baseline time / shipper time of the same round)\n");
  fmt::print("  {}\n", MachineLine());
  return 0;
}

}  // namespace
}  // namespace owsync::bench

int main(int argc, char** argv) { return owsync::bench::Main(argc, argv); }
