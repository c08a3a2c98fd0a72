// `owsync capture`: the capture sidecar of one tenant database (CaptureLoop), and its
// operations: --once, --status, --resnapshot, --uninstall. Exit codes: 0 done (or stopped by
// SIGTERM/SIGINT), 1 error, 2 bad arguments.
#include <fmt/format.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "capture/capture_admin.h"
#include "capture/capture_loop.h"
#include "capture/outbox_high_water.h"
#include "capture/schema_inspector.h"
#include "capture/sql_quote.h"
#include "capture/sqlite_db.h"
#include "capture/sqlite_txn.h"
#include "cli/cli_context.h"
#include "cli/signal_watcher.h"
#include "outbox/outbox_dir.h"
#include "outbox/outbox_reader.h"
#include "outbox/outbox_writer.h"
#include "shipper/ship_config.h"

namespace owsync::cli {
namespace {

struct CaptureArgs {
  std::string db;
  std::string outbox;
  std::string client;
  bool once = false;
  int64_t poll_ms = 100;
  std::string include;
  std::string exclude;
  std::optional<std::string> resnapshot;  // "" = every table
  bool uninstall = false;
  bool status = false;
  size_t batch_changes = 10000;
  uint64_t batch_mb = 16;
  std::string verify_every = "daily";
  double verify_rows_per_sec = 100;
  size_t verify_chunk_rows = 200;
};

int Fail(const Status& s) {
  std::cerr << "owsync capture: " << s.ToString() << "\n";
  return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

capture::TableFilter Filter(const CaptureArgs& a) {
  return capture::TableFilter(capture::TableFilter::SplitList(a.include),
                              capture::TableFilter::SplitList(a.exclude));
}

std::string LockPath(const CaptureArgs& a) { return a.db + "-owsync.lock"; }

std::string Age(int64_t seconds) {
  if (seconds < 120) return fmt::format("{} s", seconds);
  if (seconds < 7200) return fmt::format("{} min", seconds / 60);
  return fmt::format("{:.1f} h", seconds / 3600.0);
}

// Outbox facts without the writer's lock (a running capture holds it).
void PrintOutboxStatus(CliContext* ctx, const std::string& dir) {
  auto reader = outbox::OutboxReader::Open(ctx->fs, dir, 0);
  if (!reader.ok()) {
    std::cout << "outbox " << dir << ": " << reader.status().ToString() << "\n";
    return;
  }
  auto durable = (*reader)->RefreshWatermark();
  uint64_t bytes = 0, segments = 0;
  auto segs = outbox::OutboxDir(dir).ListSegments(ctx->fs);
  if (segs.ok()) {
    for (const auto& s : *segs) {
      auto size = ctx->fs->GetFileSize(s.path);
      if (size.ok()) bytes += *size;
      ++segments;
    }
  }
  std::cout << "outbox " << dir << ": id " << (*reader)->outbox_id() << ", database generation "
            << (*reader)->database_generation() << "\n  durable offset "
            << (durable.ok() ? std::to_string(*durable) : durable.status().ToString())
            << ", first retained " << (*reader)->first_retained_offset() << ", " << segments
            << " segments, " << bytes << " bytes on disk\n";
}

int RunStatus(const CaptureArgs& a, CliContext* ctx) {
  capture::SqliteDbOptions o;
  o.read_only = true;
  auto db = capture::SqliteDb::Open(a.db, o);
  if (!db.ok()) return Fail(db.status());
  auto st = capture::CaptureAdmin::ReadStatus(&*db, Filter(a));
  if (!st.ok()) return Fail(st.status());
  std::cout << "database " << a.db << ": capture "
            << (st->installed ? "installed" : "NOT installed") << "\n";
  const int64_t now_s = ctx->clock->NowMicros() / 1'000'000;
  for (const auto& [k, v] : st->meta) {
    std::cout << "  " << k << ": " << v;
    if (k == "drained_at") {
      const int64_t at = std::strtoll(v.c_str(), nullptr, 10) / 1'000'000;
      std::cout << " (" << Age(now_s - at) << " ago)";
    }
    std::cout << "\n";
  }
  const auto& cl = st->changelog;
  std::cout << "changelog: " << cl.rows << " entries pending";
  if (cl.rows > 0) {
    const int64_t age = now_s - cl.oldest_ts;
    std::cout << " (seq " << cl.min_seq << ".." << cl.max_seq << "), oldest " << Age(age) << " old";
  }
  std::cout << "\n";
  std::cout << "tables replicated:\n";
  for (const capture::TableInfo* t : st->catalog.Replicable()) {
    std::cout << "  " << capture::QuoteIdentifier(t->name) << " key ("
              << capture::QuoteIdentifierList(t->KeyNames()) << ") from " << t->key_source << ", "
              << t->columns.size() << " columns\n";
  }
  bool header = false;
  for (const auto& t : st->catalog.tables) {
    if (t.replicable) continue;
    if (!header) std::cout << "tables NOT replicated:\n";
    header = true;
    std::cout << "  " << capture::QuoteIdentifier(t.name) << ": " << t.reason << "\n";
  }
  if (st->installed) {
    for (const auto& t : st->missing_triggers) {
      std::cout << "missing triggers: " << capture::QuoteIdentifier(t)
                << " (capture reinstalls them and re-snapshots the table)\n";
    }
  }
  for (const auto& [t, why] : st->pending_snapshots) {
    std::cout << "snapshot owed: " << capture::QuoteIdentifier(t) << " (" << why << ")\n";
  }
  if (!a.outbox.empty()) PrintOutboxStatus(ctx, a.outbox);
  return 0;
}

int RunUninstall(const CaptureArgs& a, CliContext* ctx) {
  auto lock = ctx->fs->LockFile(LockPath(a));
  if (!lock.ok()) {
    return Fail(Status::FailedPrecondition("a capture is running on " + a.db +
                                           ": stop it before uninstalling (" +
                                           lock.status().message() + ")"));
  }
  auto db = capture::SqliteDb::Open(a.db, {});
  if (!db.ok()) return Fail(db.status());
  Status s = capture::CaptureAdmin::Uninstall(&*db);
  if (!s.ok()) return Fail(s);
  std::cout << "capture uninstalled from " << a.db
            << ": triggers, _owsync_changes and _owsync_meta removed. Changes from now on are not "
               "captured; a later capture starts a new generation with a full snapshot.\n";
  return 0;
}

// Marks snapshots for the capture that is running (it holds the lock) and returns.
int MarkForRunningCapture(const CaptureArgs& a) {
  auto db = capture::SqliteDb::Open(a.db, {});
  if (!db.ok()) return Fail(db.status());
  Result<capture::Catalog> catalog = Status::Internal("unread");
  {
    auto txn = capture::SqliteTxn::BeginRead(&*db);
    if (!txn.ok()) return Fail(txn.status());
    catalog = capture::SchemaInspector::Inspect(&*db, Filter(a));
  }
  if (!catalog.ok()) return Fail(catalog.status());
  Status s = capture::CaptureAdmin::MarkSnapshots(&*db, *catalog, *a.resnapshot);
  if (!s.ok()) return Fail(s);
  std::cout << "snapshot of " << (a.resnapshot->empty() ? "every table" : *a.resnapshot)
            << " requested; the running capture takes it up at its next wakeup\n";
  return 0;
}

// A "\r"-rewritten progress line, only when stderr is a terminal.
capture::SnapshotProgressFn TerminalProgress() {
  if (isatty(STDERR_FILENO) == 0) return nullptr;
  return [](const capture::SnapshotProgress& p) {
    std::string total = p.total_rows >= 0 ? fmt::format("/{}", p.total_rows) : "";
    std::string eta = p.eta_micros >= 0 ? fmt::format(", ETA {:.0f} s", p.eta_micros / 1e6) : "";
    fmt::print(stderr, "\r\033[Ksnapshot {}: {}{} rows, {:.1f} MB{}{}", p.table, p.rows, total,
               p.bytes / 1e6, eta, p.done ? " - done\n" : "");
    std::fflush(stderr);
  };
}

int RunCapture(const CaptureArgs& a, CliContext* ctx) {
  if (a.outbox.empty()) return Fail(Status::InvalidArgument("--outbox DIR is required"));
  if (a.poll_ms <= 0) return Fail(Status::InvalidArgument("--poll-ms must be positive"));
  if (a.resnapshot.has_value()) {
    auto probe = ctx->fs->LockFile(LockPath(a));
    if (!probe.ok() && probe.status().code() == StatusCode::kBusy) return MarkForRunningCapture(a);
  }
  const std::string level = ctx->getenv("LOG_LEVEL").value_or("info");
  auto logger = NewStderrLogger(a.client.empty() ? "capture" : "capture[" + a.client + "]",
                                ParseLogLevel(level));
  capture::CaptureOptions o;
  o.db_path = a.db;
  o.outbox_dir = a.outbox;
  o.client = a.client;
  o.filter = Filter(a);
  o.poll_micros = a.poll_ms * 1000;
  o.drain.max_changes = a.batch_changes;
  o.drain.max_bytes = a.batch_mb << 20;
  if (a.verify_every == "off") {
    o.verify.interval_micros = 0;
  } else {
    auto every = shipper::ParseSyncInterval(a.verify_every);
    if (!every.ok()) {
      return Fail(Status::InvalidArgument("--verify-every '" + a.verify_every +
                                          "': " + every.status().message()));
    }
    o.verify.interval_micros = *every;
  }
  if (a.verify_rows_per_sec <= 0 || a.verify_chunk_rows == 0) {
    return Fail(
        Status::InvalidArgument("--verify-rows-per-sec and --verify-chunk-rows must be "
                                "positive (--verify-every off turns verification off)"));
  }
  o.verify.rows_per_second = a.verify_rows_per_sec;
  o.verify.chunk_rows = a.verify_chunk_rows;
  o.writer.logger = logger.get();
  FileSystem* fs = ctx->fs;
  Clock* clock = ctx->clock;
  const std::string dir = a.outbox;
  o.open_writer = [fs, clock, dir](const outbox::OutboxWriterOptions& wo) {
    return outbox::OutboxWriter::Open(fs, clock, dir, wo);
  };
  o.outbox_high_water = [fs, dir](const outbox::OutboxWriter& w) {
    return capture::ScanOutboxHighWater(fs, dir, w.durable_offset(), 4096);
  };
  o.on_progress = TerminalProgress();
  capture::CaptureLoop loop(fs, clock, logger.get(), std::move(o));
  SignalWatcher signals([&loop](int) { loop.RequestStop(); });
  if (a.resnapshot.has_value()) {
    Status s = loop.Start();
    if (s.ok()) s = loop.RequestSnapshot(*a.resnapshot);
    if (!s.ok()) return Fail(s);
  }
  Status s = a.once ? loop.RunUntilCaughtUp() : loop.Run();
  if (!s.ok()) return Fail(s);
  if (a.once) {
    const auto& c = loop.counters();
    std::cout << "capture --once: " << c.entries_drained << " changes drained (" << c.upserts
              << " upserts, " << c.deletes << " deletes), " << c.snapshots_done
              << " snapshots, outbox durable offset "
              << (loop.writer() ? loop.writer()->durable_offset() : 0) << "\n";
  }
  return 0;
}

}  // namespace

void AddCaptureCommand(CLI::App* app, CliContext* ctx) {
  auto args = std::make_shared<CaptureArgs>();
  CLI::App* sub = app->add_subcommand(
      "capture",
      "Capture every committed change of one tenant's SQLite database into its outbox.\n"
      "Installs AFTER triggers that log changed keys into _owsync_changes, snapshots every\n"
      "table (without blocking the application), then drains the changelog into the outbox\n"
      "durably. Runs until SIGTERM/SIGINT (the current step finishes, exit 0) unless --once.\n"
      "Journal modes DELETE and WAL both work; capture writes only in short transactions.");
  sub->add_option("--db", args->db, "Tenant database (webui.db); never created")->required();
  sub->add_option("--outbox", args->outbox,
                  "Outbox directory of this tenant (created if missing; one capture per outbox)");
  sub->add_option("--client", args->client, "Tenant name, for log lines");
  sub->add_flag("--once", args->once,
                "Install, snapshot what is owed, drain what is in the changelog, exit 0");
  sub->add_option("--poll-ms", args->poll_ms,
                  "How often an idle capture checks for changes (PRAGMA data_version)")
      ->default_val(100);
  sub->add_option("--include", args->include,
                  "Only these tables (comma-separated; default: every table)");
  sub->add_option("--exclude", args->exclude, "Never these tables (comma-separated)");
  sub->add_option("--resnapshot", args->resnapshot,
                  "Snapshot TABLE again (no TABLE: every table). With a capture already "
                  "running on --db, only asks it to and exits")
      ->expected(0, 1)
      ->default_str("");
  sub->add_flag("--uninstall", args->uninstall,
                "Remove owsync's triggers and tables from --db (stop the capture first)");
  sub->add_flag("--status", args->status,
                "Report the changelog backlog and its age, tables and keys, tables not "
                "replicated and why, and the outbox (with --outbox); read-only");
  sub->add_option("--batch-changes", args->batch_changes, "Changelog entries per drain batch")
      ->default_val(10000);
  sub->add_option("--batch-mb", args->batch_mb, "Row data per drain batch, in MiB")
      ->default_val(16);
  sub->add_option("--verify-every", args->verify_every,
                  "In-stream verification: start a pass over every table this often (daily, "
                  "hourly, 30m, 90s, ...; off = never). Each chunk of rows is hashed into the "
                  "outbox; the shipper compares PostgreSQL with it and has drifted rows sent "
                  "again (docs/divergence.md)")
      ->default_val("daily");
  sub->add_option("--verify-rows-per-sec", args->verify_rows_per_sec,
                  "In-stream verification budget: rows read per second at most")
      ->default_val(100);
  sub->add_option("--verify-chunk-rows", args->verify_chunk_rows,
                  "In-stream verification: rows per verify record")
      ->default_val(200);
  sub->callback([args, ctx] {
    if (args->status) {
      ctx->exit_code = RunStatus(*args, ctx);
    } else if (args->uninstall) {
      ctx->exit_code = RunUninstall(*args, ctx);
    } else {
      ctx->exit_code = RunCapture(*args, ctx);
    }
  });
}

}  // namespace owsync::cli
