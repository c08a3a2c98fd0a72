// `owsync ship`, `owsync replay` and `owsync tenant rebase`: the shipper's commands.
//   ship    every tenant outbox under --outbox-root into PostgreSQL, as the host's runtime
//           role, while this node holds the cluster lease (continuous, or --once).
//   replay  one outbox directory (e.g. a copy) into PostgreSQL, the same code path, offline.
//   rebase  accept a new outbox (generation) for a tenant whose outbox id changed.
// Exit codes: 0 done / caught up, 1 a tenant stopped or shipping failed, 2 bad usage or
// configuration.
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>

#include "cli/cli_context.h"
#include "cli/database_url.h"
#include "cli/signal_watcher.h"
#include "outbox/outbox_reader.h"
#include "shipper/batch_applier.h"
#include "shipper/lease.h"
#include "shipper/lease_epoch_source.h"
#include "shipper/node_services.h"
#include "shipper/pg_url.h"
#include "shipper/ship_config.h"
#include "shipper/ship_node.h"
#include "shipper/ship_runner.h"
#include "shipper/tenant_shipper.h"

namespace owsync::cli {
namespace {

using shipper::Deadline;
using shipper::Lease;
using shipper::LeaseEpochSource;
using shipper::LeaseOptions;
using shipper::PgConnection;

struct ShipArgs {
  std::string outbox_root;
  bool once = false;
  int lease_wait_seconds = 0;
};

struct ReplayArgs {
  std::string dir;
  std::string client;
  std::string to;
  std::string to_file;
  std::string cluster;
  bool all_blocks = false;
  int lease_wait_seconds = 60;
};

struct IntervalArgs {
  std::string client;
  std::string interval;
  std::string to;
  std::string to_file;
};

struct RebaseArgs {
  std::string client;
  std::string outbox;
  std::string to;
  std::string to_file;
};

int Fail(const char* command, const Status& s) {
  std::cerr << "owsync " << command << ": " << s.ToString() << "\n";
  return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

std::unique_ptr<Logger> MakeLogger(const std::string& name, CliContext* ctx) {
  return NewStderrLogger(name, ParseLogLevel(ctx->getenv("LOG_LEVEL").value_or("info")));
}

// The cluster of the host this role belongs to (the lease it may hold under RLS).
Result<std::string> ClusterOfRole(Clock* clock, const std::string& url) {
  OWSYNC_ASSIGN_OR_RETURN(PgConnection conn,
                          PgConnection::Connect(clock, url, Deadline::After(clock, 10'000'000)));
  OWSYNC_ASSIGN_OR_RETURN(
      shipper::PgResult res,
      conn.Exec("SELECT cluster_name FROM sync_metadata.hosts WHERE db_role = current_user",
                Deadline::After(clock, 10'000'000)));
  if (res.rows() != 1) {
    return Status::NotFound(
        "this role is not a registered host (sync_metadata.hosts.db_role): give --cluster or "
        "CLUSTER_NAME, or register the host with `owsync db add-host`");
  }
  return std::string(res.GetValue(0, 0));
}

int RunShip(const ShipArgs& a, CliContext* ctx) {
  // Records are decoded on one thread and freed on another: without a cap glibc keeps an arena
  // per thread, and the freed memory of each stays resident (docs/BENCHMARKS.md, peak RSS).
  mallopt(M_ARENA_MAX, 2);
  auto logger = MakeLogger("ship", ctx);
  auto config = shipper::ShipConfig::FromEnvironment(ctx->getenv, ctx->fs);
  if (!config.ok()) return Fail("ship", config.status());
  if (a.outbox_root.empty()) {
    return Fail("ship", Status::InvalidArgument("--outbox-root DIR is required"));
  }
  for (const std::string& line : config->EffectiveConfigLines()) logger->Info("{}", line);
  for (const std::string& warning : config->warnings) logger->Warn("{}", warning);
  shipper::ShipNodeOptions no;
  no.role = config->role;
  no.lease.cluster = config->cluster_name;
  no.lease.node_id = Lease::MakeNodeId(config->host_name, config->role);
  no.lease.lease_micros = config->lease_micros;
  no.lease.renew_every_micros = config->heartbeat_micros;
  no.url = config->database_url;
  no.lock_url = config->lock_database_url;
  no.lease_wait_micros = a.lease_wait_seconds * 1'000'000LL;
  no.runner.outbox_root = a.outbox_root;
  no.runner.once = a.once;
  no.runner.tenant.url = config->database_url;
  no.runner.tenant.cluster = config->cluster_name;
  no.runner.tenant.batch_rows = static_cast<size_t>(config->batch_rows);
  no.runner.tenant.batch_bytes = static_cast<size_t>(config->batch_bytes);
  no.runner.tenant.queue_bytes = static_cast<size_t>(config->queue_bytes);
  no.runner.tenant.sync_interval_micros = config->sync_interval_micros;
  shipper::ShipNode node(ctx->fs, ctx->clock, logger.get(), no);
  // Before any thread starts (the API's, the heartbeat's, the lease's): they inherit the
  // blocked signals, so SIGTERM reaches the watcher and not a default handler.
  SignalWatcher signals([&](int) { node.RequestStop(); });
  // The API and the heartbeat run on both nodes of a pair; `--once` is a batch job: neither.
  std::optional<shipper::NodeServices> services;
  if (!a.once) {
    services.emplace(ctx->fs, ctx->clock, logger.get(), *config, a.outbox_root, &node);
    Status started = services->Start();
    if (!started.ok()) return Fail("ship", started);
  }
  logger->Info("node {} ({}) started for cluster {}", no.lease.node_id, config->role,
               config->cluster_name);
  Status st = node.Run();
  if (services.has_value()) services->Stop();
  if (!st.ok()) return Fail("ship", st);
  if (a.once) {
    for (const auto& r : node.LastReport()) {
      std::cout << r.client << ": acked offset " << r.progress.acked_offset << " ("
                << r.progress.rows << " rows, " << r.progress.dead_letters << " dead letters, "
                << r.progress.conflicts << " conflicts)\n";
    }
  }
  return 0;
}

int RunReplay(const ReplayArgs& a, CliContext* ctx) {
  auto logger = MakeLogger("replay", ctx);
  auto url = ResolveDatabaseUrl({"--to", a.to, "--to-file", a.to_file, "DATABASE_URL"}, ctx);
  if (!url.ok()) return Fail("replay", url.status());
  std::string cluster = a.cluster;
  if (cluster.empty()) cluster = ctx->getenv("CLUSTER_NAME").value_or("");
  if (cluster.empty()) {
    auto c = ClusterOfRole(ctx->clock, *url);
    if (!c.ok()) return Fail("replay", c.status());
    cluster = *c;
  }
  LeaseOptions lo;
  lo.cluster = cluster;
  lo.node_id = Lease::MakeNodeId("replay", a.client);
  lo.give_up_on_permanent_error = true;
  Lease lease(ctx->clock, logger.get(), *url, lo);
  LeaseEpochSource epochs(&lease);
  Status held =
      lease.AcquireAndKeep(Deadline::After(ctx->clock, a.lease_wait_seconds * 1'000'000LL));
  if (!held.ok()) {
    return Fail("replay", held.WithContext("another shipper leads cluster '" + cluster +
                                           "' (stop it, or wait for its lease to expire)"));
  }
  shipper::TenantShipperOptions o;
  o.client = a.client;
  o.outbox_dir = a.dir;
  o.url = *url;
  o.cluster = cluster;
  o.once = true;
  o.ignore_watermark = a.all_blocks;
  o.write_acked_file = false;
  shipper::TenantShipper tenant(ctx->fs, ctx->clock, logger.get(), o, &epochs);
  SignalWatcher signals([&](int) { tenant.RequestStop(); });
  Status st = tenant.Run();
  (void)lease.Release();
  if (!st.ok()) return Fail("replay", st);
  auto p = tenant.progress();
  std::cout << "replayed " << a.dir << " into tenant " << a.client << ": acked offset "
            << p.acked_offset << " (" << p.rows << " rows, " << p.dead_letters << " dead letters, "
            << p.conflicts << " conflicts)\n";
  return 0;
}

int RunRebase(const RebaseArgs& a, CliContext* ctx) {
  auto url = ResolveDatabaseUrl({"--to", a.to, "--to-file", a.to_file, "DATABASE_URL"}, ctx);
  if (!url.ok()) return Fail("tenant rebase", url.status());
  auto reader = outbox::OutboxReader::Open(ctx->fs, a.outbox, 0);
  if (!reader.ok()) return Fail("tenant rebase", reader.status());
  const uint64_t first = (*reader)->first_retained_offset();
  // The new outbox must begin with a snapshot: schema records and the changes capture drained
  // while it started (full row images), then a snapshot begin.
  outbox::Record r;
  bool starts_with_snapshot = false;
  for (;;) {
    auto next = (*reader)->Next(&r);
    if (!next.ok()) return Fail("tenant rebase", next.status());
    if (!*next) break;
    if (r.type == outbox::RecordType::kSchema || r.type == outbox::RecordType::kUpsert ||
        r.type == outbox::RecordType::kDelete) {
      continue;
    }
    starts_with_snapshot = r.type == outbox::RecordType::kSnapshotBegin;
    break;
  }
  if (!starts_with_snapshot) {
    return Fail("tenant rebase", Status::FailedPrecondition(
                                     "outbox " + (*reader)->outbox_id() +
                                     " does not begin with a snapshot (no snapshot begins "
                                     "before offset " +
                                     std::to_string(r.offset) +
                                     "); re-snapshot the tenant first (`owsync "
                                     "capture --resnapshot`) so that PostgreSQL can converge"));
  }
  auto conn = PgConnection::Connect(ctx->clock, *url, Deadline::After(ctx->clock, 10'000'000));
  if (!conn.ok()) return Fail("tenant rebase", conn.status());
  auto deadline = [&] { return Deadline::After(ctx->clock, 30'000'000); };
  auto begin = conn->Exec("BEGIN", deadline());
  if (!begin.ok()) return Fail("tenant rebase", begin.status());
  auto row = conn->ExecParams(
      "SELECT acked_offset, COALESCE(outbox_id, '') FROM sync_metadata.tenant_offsets WHERE "
      "client_name = $1 FOR UPDATE",
      {a.client}, deadline());
  if (!row.ok()) return Fail("tenant rebase", row.status());
  if (row->rows() == 0) {
    return Fail("tenant rebase", Status::NotFound("tenant '" + a.client + "' is not registered"));
  }
  uint64_t acked = std::stoull(std::string(row->GetValue(0, 0)));
  std::string old_id(row->GetValue(0, 1));
  if (old_id == (*reader)->outbox_id()) {
    return Fail("tenant rebase",
                Status::FailedPrecondition(
                    "PostgreSQL already follows outbox " + old_id +
                    ": there is no new generation to accept. When the shipper reported "
                    "PostgreSQL ahead of the outbox, capture starts the new generation itself "
                    "(it reads ACKED): make sure `owsync capture` runs on this tenant, wait for "
                    "its log line \"starting database generation\", then rebase"));
  }
  if (first <= acked) {
    return Fail("tenant rebase",
                Status::FailedPrecondition(
                    "the new outbox starts at offset " + std::to_string(first) +
                    ", not above the acknowledged offset " + std::to_string(acked) +
                    ": its row versions would compare as older than rows already in "
                    "PostgreSQL. Start the new outbox generation from the old outbox directory "
                    "(capture does this on a restored database) so offsets keep increasing"));
  }
  auto update = conn->ExecParams(
      "UPDATE sync_metadata.tenant_offsets SET outbox_id = $2, acked_offset = $3::bigint, "
      "acked_fingerprint = NULL, updated_at = now() WHERE client_name = $1",
      {a.client, (*reader)->outbox_id(), std::to_string(first - 1)}, deadline());
  if (!update.ok()) return Fail("tenant rebase", update.status());
  auto commit = conn->Exec("COMMIT", deadline());
  if (!commit.ok()) return Fail("tenant rebase", commit.status());
  std::cout << "tenant " << a.client << ": rebased from outbox "
            << (old_id.empty() ? "(none)" : old_id) << " (acked " << acked << ") to outbox "
            << (*reader)->outbox_id() << " from offset " << first << "\n";
  return 0;
}

int RunInterval(const IntervalArgs& a, CliContext* ctx) {
  auto micros = shipper::ParseSyncInterval(a.interval);
  if (!micros.ok()) {
    return Fail("tenant interval",
                Status::InvalidArgument("'" + a.interval + "' " + micros.status().message()));
  }
  auto url = ResolveDatabaseUrl({"--to", a.to, "--to-file", a.to_file, "DATABASE_URL"}, ctx);
  if (!url.ok()) return Fail("tenant interval", url.status());
  auto conn = PgConnection::Connect(ctx->clock, *url, Deadline::After(ctx->clock, 10'000'000));
  if (!conn.ok()) return Fail("tenant interval", conn.status());
  auto res = conn->ExecParams(
      "UPDATE sync_metadata.client_deployments SET config = COALESCE(config, '{}'::jsonb) || "
      "jsonb_build_object('sync_interval', $2::text), updated_at = now() WHERE client_name = $1 "
      "RETURNING 1",
      {a.client, a.interval}, Deadline::After(ctx->clock, 30'000'000));
  if (!res.ok()) return Fail("tenant interval", res.status());
  if (res->rows() == 0) {
    return Fail("tenant interval",
                Status::NotFound("tenant '" + a.client + "' is not registered to this host"));
  }
  std::cout << "tenant " << a.client << ": sync interval "
            << (*micros == 0 ? std::string("continuous") : a.interval)
            << " (takes effect when the shipper next starts the tenant)\n";
  return 0;
}

}  // namespace

void AddShipCommands(CLI::App* app, CliContext* ctx) {
  auto ship_args = std::make_shared<ShipArgs>();
  CLI::App* ship = app->add_subcommand(
      "ship",
      "Ship every tenant outbox under --outbox-root into PostgreSQL. Run two per host (ROLE="
      "primary and ROLE=secondary, the same CLUSTER_NAME): both campaign for the cluster lease, "
      "the leader ships, the follower takes over when the leader dies (at once when its "
      "advisory-lock session is gone, else when its lease expires) and a deposed leader can "
      "commit nothing. Both serve the HTTP API (API_BIND:API_PORT: /health, "
      "/api/v1/cluster/status, /api/v1/sync/trigger/{client}) and write a heartbeat. "
      "Configured by the environment: DATABASE_URL or DATABASE_URL_FILE (the host's runtime "
      "role), LOCK_DATABASE_URL (session-mode URL for the fast path; none = off), HOST_NAME, "
      "CLUSTER_NAME, ROLE, API_PORT, API_TOKEN_FILE, BATCH_SIZE, BATCH_BYTES, LEASE_DURATION, "
      "HEARTBEAT_INTERVAL, DEFAULT_SYNC_INTERVAL, ... (docs/shipper.md, docs/ha.md). Logs the "
      "effective configuration at start-up, secrets masked, and every change of leadership. "
      "SIGTERM/SIGINT: finish the batch in flight, release the lease and the lock (the other "
      "node takes over at once), exit 0.");
  ship->add_option("--outbox-root", ship_args->outbox_root,
                   "Directory holding one outbox directory per tenant: DIR/<client>/")
      ->required();
  ship->add_flag("--once", ship_args->once,
                 "Take the lease, ship what is durable now and exit 0 when every tenant is "
                 "acknowledged (exit 1 naming the tenants that stopped); no API, no heartbeat");
  ship->add_option("--lease-wait", ship_args->lease_wait_seconds,
                   "Give up after this many seconds without the lease (default: wait forever)");
  ship->callback([ship_args, ctx] { ctx->exit_code = RunShip(*ship_args, ctx); });

  auto replay_args = std::make_shared<ReplayArgs>();
  CLI::App* replay = app->add_subcommand(
      "replay",
      "Apply one outbox directory (e.g. a copy taken elsewhere) to PostgreSQL with the "
      "shipper's code path, from the tenant's acked offset to the end, then exit. Takes the "
      "cluster lease for the time of the replay. The URL comes from --to-file, DATABASE_URL or "
      "DATABASE_URL_FILE (a URL with a password is refused on the command line).");
  replay->add_option("dir", replay_args->dir, "The outbox directory")->required();
  replay->add_option("--client", replay_args->client, "Tenant (schema) name")->required();
  replay->add_option("--to", replay_args->to, "PostgreSQL URL without a password");
  replay->add_option("--to-file", replay_args->to_file, "File holding the PostgreSQL URL");
  replay->add_option("--cluster", replay_args->cluster,
                     "Lease to hold (default CLUSTER_NAME, else this role's host cluster)");
  replay->add_flag("--all-blocks", replay_args->all_blocks,
                   "Read every complete block, not only up to the durable watermark (an outbox "
                   "whose writer is gone)");
  replay->add_option("--lease-wait", replay_args->lease_wait_seconds,
                     "Seconds to wait for the lease (default 60)");
  replay->callback([replay_args, ctx] { ctx->exit_code = RunReplay(*replay_args, ctx); });

  CLI::App* tenant = app->add_subcommand("tenant", "Tenant maintenance");
  tenant->require_subcommand(1);
  auto rebase_args = std::make_shared<RebaseArgs>();
  CLI::App* rebase = tenant->add_subcommand(
      "rebase",
      "Accept a new outbox (a new generation after a restored database, or a recreated "
      "outbox) for CLIENT: checks that it starts with a snapshot and that its offsets "
      "continue above what PostgreSQL acknowledged, then points the tenant's offset row at it. "
      "Rows the new snapshot does not carry are tombstoned when it completes.");
  rebase->add_option("client", rebase_args->client, "Tenant name")->required();
  rebase->add_option("--outbox", rebase_args->outbox, "The tenant's outbox directory")->required();
  rebase->add_option("--to", rebase_args->to, "PostgreSQL URL without a password");
  rebase->add_option("--to-file", rebase_args->to_file, "File holding the PostgreSQL URL");
  rebase->callback([rebase_args, ctx] { ctx->exit_code = RunRebase(*rebase_args, ctx); });

  auto interval_args = std::make_shared<IntervalArgs>();
  CLI::App* interval = tenant->add_subcommand(
      "interval",
      "Set how often CLIENT is shipped: continuous (the default), 1m, 5m, hourly, daily, or any "
      "duration (60, 90s, 2h). Stored in sync_metadata.client_deployments.config; overrides "
      "DEFAULT_SYNC_INTERVAL for this tenant from the next start of its shipping.");
  interval->add_option("client", interval_args->client, "Tenant name")->required();
  interval->add_option("interval", interval_args->interval, "continuous|1m|5m|hourly|daily|...")
      ->required();
  interval->add_option("--to", interval_args->to, "PostgreSQL URL without a password");
  interval->add_option("--to-file", interval_args->to_file, "File holding the PostgreSQL URL");
  interval->callback([interval_args, ctx] { ctx->exit_code = RunInterval(*interval_args, ctx); });
}

}  // namespace owsync::cli
