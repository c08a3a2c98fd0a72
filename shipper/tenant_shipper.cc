#include "shipper/tenant_shipper.h"

#include <concurrentqueue/blockingconcurrentqueue.h>

#include <condition_variable>
#include <random>
#include <thread>

#include "outbox/acked_check.h"
#include "outbox/acked_file.h"
#include "outbox/identity_file.h"
#include "outbox/outbox_dir.h"
#include "outbox/outbox_reader.h"
#include "outbox/record_fingerprint.h"
#include "outbox/repair_request.h"
#include "shipper/batch.h"
#include "shipper/batch_applier.h"
#include "shipper/pg_connection.h"
#include "shipper/ship_config.h"
#include "shipper/tenant_catalog.h"
#include "shipper/tenant_claim.h"

namespace owsync::shipper {

namespace {

constexpr size_t kMaxQueuedRecords = 65536;
constexpr int64_t kMinPollMicros = 5'000;
constexpr int64_t kMaxPollMicros = 100'000;

// One queue element: a record, the end of a --once run, or the reader's error.
struct Item {
  enum Kind { kRecord, kEnd, kError } kind = kRecord;
  outbox::Record record;
  size_t bytes = 0;
  Status status;
  uint64_t fingerprint = 0;  // RecordFingerprint of the record
};

}  // namespace

// The reader thread and the budget that bounds what it has decoded but not yet shipped.
struct TenantShipper::Pipeline {
  moodycamel::BlockingConcurrentQueue<Item> queue;
  std::mutex mu;
  std::condition_variable cv;
  size_t bytes_in_flight = 0;
  size_t records_in_flight = 0;
  std::atomic<bool> stop{false};

  // Blocks the reader until `bytes` fit (a record larger than the budget passes alone).
  bool Admit(size_t bytes, size_t budget) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] {
      return stop.load() || records_in_flight == 0 ||
             (bytes_in_flight + bytes <= budget && records_in_flight < kMaxQueuedRecords);
    });
    if (stop.load()) return false;
    bytes_in_flight += bytes;
    records_in_flight++;
    return true;
  }
  void Release(size_t bytes, size_t records) {
    {
      std::lock_guard<std::mutex> lock(mu);
      bytes_in_flight -= bytes;
      records_in_flight -= records;
    }
    cv.notify_all();
  }
  void Stop() {
    stop.store(true);
    cv.notify_all();
  }
};

TenantShipper::TenantShipper(FileSystem* fs, Clock* clock, Logger* logger,
                             TenantShipperOptions options, const EpochSource* epochs)
    : fs_(fs), clock_(clock), logger_(logger), options_(std::move(options)), epochs_(epochs) {}

TenantProgress TenantShipper::progress() const {
  std::lock_guard<std::mutex> lock(mu_);
  return progress_;
}

Status TenantShipper::Run() {
  std::mt19937_64 rng(std::random_device{}());
  int64_t backoff = 100'000;
  while (!stop_.load()) {
    bool retry = false;
    Status st = RunOnce(&retry);
    if (st.ok()) return st;
    {
      std::lock_guard<std::mutex> lock(mu_);
      progress_.last_error = st.ToString();
    }
    if (!retry) return st;
    std::uniform_int_distribution<int64_t> jitter(backoff / 2, backoff);
    int64_t wait = jitter(rng);
    logger_->Warn("tenant {}: {} — retrying in {} ms", options_.client, st.ToString(), wait / 1000);
    for (int64_t slept = 0; slept < wait && !stop_.load(); slept += 50'000) {
      clock_->SleepForMicros(std::min<int64_t>(50'000, wait - slept));
    }
    backoff = std::min(backoff * 2, options_.max_backoff_micros);
  }
  return Status::OK();
}

Status TenantShipper::CheckOutboxHoldsAcked(const TenantOffset& offset, const std::string& rebase) {
  if (offset.outbox_id.empty() || offset.acked_offset == 0) return Status::OK();
  OWSYNC_ASSIGN_OR_RETURN(
      outbox::Identity identity,
      outbox::IdentityFile::Read(fs_, outbox::OutboxDir(options_.outbox_dir).IdentityPath()));
  if (identity.outbox_id != offset.outbox_id) return Status::OK();  // a rebase is asked for
  OWSYNC_ASSIGN_OR_RETURN(outbox::AckedCheckResult held,
                          outbox::AckedCheck::Run(fs_, options_.outbox_dir, offset.acked_offset,
                                                  offset.acked_fingerprint));
  if (held.verdict != outbox::AckedVerdict::kBeyondEnd &&
      held.verdict != outbox::AckedVerdict::kDiffers) {
    return Status::OK();
  }
  // Tell capture (ACKED): it starts a new generation above this offset by itself.
  if (options_.write_acked_file) {
    Status told = outbox::AckedFile::Write(
        fs_, options_.outbox_dir,
        outbox::Acked{offset.outbox_id, offset.acked_offset, offset.acked_fingerprint});
    if (!told.ok()) {
      logger_->Warn("tenant {}: writing ACKED: {}", options_.client, told.ToString());
    }
  }
  return Status::FailedPrecondition(
      "tenant '" + options_.client + "': PostgreSQL is ahead of the outbox: " +
      outbox::AckedCheck::Describe(held, offset.acked_offset, offset.outbox_id,
                                   offset.acked_fingerprint) +
      ". The database and its outbox were restored from an older copy (a VM or volume "
      "snapshot?); shipping on would skip or overwrite records, so nothing is shipped. "
      "Recovery: capture starts a new outbox generation above offset " +
      std::to_string(offset.acked_offset) +
      " by itself (it reads ACKED, written now, within seconds or at its next start), then "
      "accept it with " +
      rebase + " (docs/divergence.md)");
}

void TenantShipper::HandleVerified(const std::string& outbox_id,
                                   const std::vector<DriftReport>& verified) {
  int64_t requested = 0;
  for (const DriftReport& r : verified) {
    if (!r.skipped.empty()) {
      if (skip_reasons_said_.insert(r.table + "\n" + r.skipped).second) {
        logger_->Warn("tenant {}: in-stream verification of table {} skipped: {}", options_.client,
                      r.table, r.skipped);
      }
      continue;
    }
    if (!r.drift()) continue;
    logger_->Warn(
        "tenant {}: drift in table {} range {}: {} missing, {} different, {} extra in "
        "PostgreSQL (of {} rows; {} more explained by dead letters, conflicts or changes made "
        "in PostgreSQL); asking capture to send them again",
        options_.client, r.table, r.range, r.missing, r.different, r.extra, r.compared,
        r.explained);
    if (!options_.write_acked_file) continue;  // offline replay: no capture to ask
    outbox::RepairRequest request{outbox_id, r.offset, r.table, r.keys};
    Status s = outbox::RepairRequestFile::Write(fs_, options_.outbox_dir, request);
    if (!s.ok()) {
      logger_->Warn("tenant {}: writing the repair request: {} (the next pass finds it again)",
                    options_.client, s.ToString());
      continue;
    }
    ++requested;
  }
  std::lock_guard<std::mutex> lock(mu_);
  progress_.repairs_requested += requested;
}

Status TenantShipper::RunOnce(bool* retry) {
  *retry = true;
  const std::string& client = options_.client;
  PgConnectOptions connect_options;
  connect_options.logger = logger_;
  connect_options.application_name = "owsync ship " + client;
  auto connect = [&]() {
    return PgConnection::Connect(clock_, options_.url,
                                 Deadline::After(clock_, options_.connect_micros), connect_options);
  };
  OWSYNC_ASSIGN_OR_RETURN(PgConnection conn, connect());
  auto deadline = [&] { return Deadline::After(clock_, options_.statement_micros); };
  // Take the tenant over before reading where it stands: from this commit on, no batch of an
  // older epoch (a deposed leader) can commit (shipper/tenant_claim.h).
  const int64_t claim_epoch = epochs_->CurrentEpoch();
  if (claim_epoch == 0) return Status::Aborted("tenant " + client + ": not the leader");
  TenantClaimOptions claim_options;
  claim_options.client = client;
  claim_options.cluster = options_.cluster;
  claim_options.url = options_.url;
  claim_options.still_leader = [&] { return epochs_->CurrentEpoch() == claim_epoch; };
  Result<TenantOffset> offset_or =
      TenantClaim(clock_, logger_, claim_options).Claim(&conn, claim_epoch);
  if (!offset_or.ok()) {
    *retry = offset_or.status().retryable();
    return offset_or.status();
  }
  TenantOffset offset = *offset_or;
  // A per-tenant interval (client_deployments.config->>'sync_interval', set with `owsync tenant
  // interval`) overrides the default one.
  int64_t interval = options_.sync_interval_micros;
  {
    auto res = conn.ExecParams(
        "SELECT config->>'sync_interval' FROM sync_metadata.client_deployments WHERE "
        "client_name = $1",
        {client}, deadline());
    if (!res.ok()) {
      *retry = res.status().retryable();
      return res.status();
    }
    if (res->rows() > 0 && !res->IsNull(0, 0)) {
      auto parsed = ParseSyncInterval(res->GetValue(0, 0));
      if (parsed.ok()) {
        interval = *parsed;
      } else {
        logger_->Warn("tenant {}: ignoring sync_interval '{}': {}", client, res->GetValue(0, 0),
                      parsed.status().message());
      }
    }
  }
  const std::string rebase =
      "`owsync tenant rebase " + client + " --outbox " + options_.outbox_dir + "`";
  {
    Status held = CheckOutboxHoldsAcked(offset, rebase);
    if (!held.ok()) {
      *retry = held.retryable();
      return held;
    }
  }
  outbox::OutboxReaderOptions reader_options;
  reader_options.ignore_watermark = options_.ignore_watermark;
  auto reader_or =
      outbox::OutboxReader::Open(fs_, options_.outbox_dir, offset.acked_offset + 1, reader_options);
  if (!reader_or.ok()) {
    *retry = false;
    if (reader_or.status().code() == StatusCode::kFailedPrecondition) {
      return Status::FailedPrecondition(
          "tenant '" + client + "': PostgreSQL acknowledged up to offset " +
          std::to_string(offset.acked_offset) + " but the outbox no longer holds offset " +
          std::to_string(offset.acked_offset + 1) + " (" + reader_or.status().message() +
          "); nothing is skipped: re-snapshot the tenant and accept the new outbox with " + rebase);
    }
    return reader_or.status();
  }
  std::unique_ptr<outbox::OutboxReader> reader = std::move(*reader_or);
  if (!offset.outbox_id.empty() && offset.outbox_id != reader->outbox_id()) {
    *retry = false;
    return Status::FailedPrecondition(
        "tenant '" + client + "': PostgreSQL holds outbox " + offset.outbox_id +
        " but the outbox directory is " + reader->outbox_id() +
        "; nothing is skipped: if the new outbox starts with a full snapshot, accept it with " +
        rebase);
  }
  Result<TenantCatalog> catalog = TenantCatalog::Load(&conn, client, deadline());
  if (!catalog.ok()) {
    *retry = catalog.status().retryable();
    return catalog.status();
  }
  ApplyContext ctx;
  ctx.clock = clock_;
  ctx.logger = logger_;
  ctx.client = client;
  ctx.deployment_id = offset.deployment_id;
  ctx.outbox_id = reader->outbox_id();
  ctx.statement_micros = options_.statement_micros;
  BatchApplier applier(ctx, options_.cluster, std::move(*catalog));
  const std::string outbox_id = reader->outbox_id();

  uint64_t target = 0;  // --once: ship up to here
  if (options_.once) {
    if (options_.ignore_watermark) {
      target = UINT64_MAX;  // until the reader runs out of complete blocks
    } else {
      OWSYNC_ASSIGN_OR_RETURN(target, reader->RefreshWatermark());
    }
    if (target != UINT64_MAX && target <= offset.acked_offset) {
      std::lock_guard<std::mutex> lock(mu_);
      progress_.acked_offset = offset.acked_offset;
      progress_.durable_offset = target;
      return Status::OK();
    }
  }
  logger_->Info("tenant {}: shipping outbox {} from offset {} (epoch {})", client, outbox_id,
                offset.acked_offset + 1, claim_epoch);

  Pipeline pipe;
  std::thread reader_thread([&] {
    int64_t poll = kMinPollMicros;
    uint64_t last_offset = offset.acked_offset;
    while (!pipe.stop.load() && !stop_.load()) {
      Item item;
      Result<bool> next = reader->Next(&item.record);
      if (!next.ok()) {
        pipe.queue.enqueue(Item{Item::kError, {}, 0, next.status()});
        return;
      }
      if (*next) {
        poll = kMinPollMicros;
        last_offset = item.record.offset;
        item.bytes = RecordBytes(item.record);
        item.fingerprint = reader->fingerprint();
        if (!pipe.Admit(item.bytes, options_.queue_bytes)) return;
        pipe.queue.enqueue(std::move(item));
        if (options_.once && last_offset >= target) {
          pipe.queue.enqueue(Item{Item::kEnd, {}, 0, Status::OK()});
          return;
        }
        continue;
      }
      if (options_.once && options_.ignore_watermark) {
        pipe.queue.enqueue(Item{Item::kEnd, {}, 0, Status::OK()});
        return;
      }
      // At the watermark: wait for the writer to publish more (backing off while idle), or
      // until ShipNow asks for what is durable now.
      int64_t wait = interval > 0 ? interval : poll;
      for (int64_t slept = 0;
           slept < wait && !pipe.stop.load() && !stop_.load() && !ship_now_.exchange(false);
           slept += 50'000) {
        clock_->SleepForMicros(std::min<int64_t>(50'000, wait - slept));
      }
      poll = std::min(poll * 2, kMaxPollMicros);
      Result<uint64_t> mark = reader->RefreshWatermark();
      if (!mark.ok()) {
        pipe.queue.enqueue(Item{Item::kError, {}, 0, mark.status()});
        return;
      }
      std::lock_guard<std::mutex> lock(mu_);
      progress_.durable_offset = *mark;
    }
  });
  struct Joiner {
    Pipeline* pipe;
    std::thread* t;
    ~Joiner() {
      pipe->Stop();
      t->join();
    }
  } joiner{&pipe, &reader_thread};

  uint64_t acked = offset.acked_offset;
  std::string acked_fingerprint = offset.acked_fingerprint;
  int64_t last_ack_file = 0;
  bool ack_file_behind = false;
  auto publish_ack = [&](bool force) -> Status {
    if (!options_.write_acked_file || !ack_file_behind) return Status::OK();
    int64_t now = clock_->MonotonicMicros();
    if (!force && now - last_ack_file < options_.ack_file_interval_micros) return Status::OK();
    OWSYNC_RETURN_IF_ERROR(outbox::AckedFile::Write(
        fs_, options_.outbox_dir, outbox::Acked{outbox_id, acked, acked_fingerprint}));
    last_ack_file = now;
    ack_file_behind = false;
    return Status::OK();
  };

  std::optional<Item> carry;  // a schema record that starts the next batch
  bool done = false;
  while (!done && !stop_.load()) {
    Batch batch;
    batch.outbox_id = outbox_id;
    size_t rows = 0;
    Status reader_error;
    auto take = [&](Item&& item) -> bool {  // false: the batch is complete
      if (item.kind == Item::kEnd) {
        done = true;
        return false;
      }
      if (item.kind == Item::kError) {
        reader_error = item.status;
        return false;
      }
      bool data_seen = rows > 0;
      if (item.record.type == outbox::RecordType::kSchema && data_seen) {
        carry = std::move(item);
        return false;
      }
      batch.bytes += item.bytes;
      batch.last_fingerprint = outbox::FingerprintHex(item.fingerprint);
      if (item.record.type == outbox::RecordType::kUpsert ||
          item.record.type == outbox::RecordType::kDelete) {
        rows++;
      }
      batch.records.push_back(std::move(item.record));
      return rows < options_.batch_rows && batch.bytes < options_.batch_bytes;
    };
    bool more = true;
    if (carry) {
      Item c = std::move(*carry);
      carry.reset();
      more = take(std::move(c));
    }
    if (more && batch.records.empty()) {
      Item item;
      while (!pipe.queue.wait_dequeue_timed(item, 200'000)) {
        if (stop_.load()) return Status::OK();
        OWSYNC_RETURN_IF_ERROR(publish_ack(true));
      }
      more = take(std::move(item));
    }
    while (more) {
      Item item;
      if (!pipe.queue.try_dequeue(item)) break;
      more = take(std::move(item));
    }
    if (!batch.empty()) {
      // Batches go with the epoch this tenant claimed with: a node that lost its lease and won
      // it again (a new epoch) must claim again before it ships (ending this session).
      const int64_t epoch = claim_epoch;
      if (epochs_->CurrentEpoch() != claim_epoch) {
        return Status::Aborted("tenant " + client + ": the node's epoch is " +
                               std::to_string(epochs_->CurrentEpoch()) + ", not the epoch " +
                               std::to_string(claim_epoch) +
                               " the tenant was claimed with: claiming again");
      }
      Result<BatchOutcome> outcome = applier.Apply(&conn, batch, epoch);
      while (!outcome.ok() && outcome.status().retryable() && !stop_.load()) {
        logger_->Warn("tenant {}: batch {}..{} failed ({}); retrying", client, batch.first_offset(),
                      batch.last_offset(), outcome.status().ToString());
        {
          std::lock_guard<std::mutex> lock(mu_);
          progress_.retries++;
          progress_.last_error = outcome.status().ToString();
        }
        clock_->SleepForMicros(200'000);
        if (conn.is_broken()) {
          Result<PgConnection> again = connect();
          if (!again.ok()) {
            outcome = again.status();
            continue;
          }
          conn = std::move(*again);
        }
        if (epochs_->CurrentEpoch() != epoch) {
          return Status::Aborted("tenant " + client + ": leadership changed mid-batch");
        }
        outcome = applier.Apply(&conn, batch, epoch);
      }
      if (!outcome.ok()) {
        *retry = false;
        return outcome.status();
      }
      acked = outcome->acked_offset;
      // The fingerprint goes with the offset it was read at; a batch found applied before
      // (a lost COMMIT answer) normally ends exactly at PostgreSQL's acked offset too.
      if (outcome->acked_offset == batch.last_offset()) {
        acked_fingerprint = batch.last_fingerprint;
      } else {
        acked_fingerprint.clear();
      }
      ack_file_behind = true;
      size_t released = batch.records.size();
      pipe.Release(batch.bytes, released);
      {
        std::lock_guard<std::mutex> lock(mu_);
        progress_.acked_offset = acked;
        progress_.batches++;
        progress_.rows += outcome->stats.upserts + outcome->stats.tombstones;
        progress_.dead_letters += outcome->stats.dead_letters;
        progress_.conflicts += outcome->stats.conflicts;
        progress_.verified_ranges += outcome->stats.verified_ranges;
        progress_.drift_rows += outcome->stats.drift_rows;
        progress_.last_commit_micros = clock_->NowMicros();
        progress_.last_error.clear();
      }
      logger_->Debug("tenant {}: committed {}..{} ({} rows, {} dead letters)", client,
                     batch.first_offset(), batch.last_offset(), outcome->stats.upserts,
                     outcome->stats.dead_letters);
      if (!outcome->verified.empty()) HandleVerified(outbox_id, outcome->verified);
      OWSYNC_RETURN_IF_ERROR(publish_ack(done));
    }
    if (!reader_error.ok()) {
      *retry = reader_error.retryable() ||
               reader_error.code() == StatusCode::kFailedPrecondition;  // reopen: new generation?
      return reader_error;
    }
  }
  OWSYNC_RETURN_IF_ERROR(publish_ack(true));
  return Status::OK();
}

}  // namespace owsync::shipper
