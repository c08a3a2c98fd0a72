#include "shipper/ship_node.h"

#include <fmt/format.h>

#include <thread>

#include "shipper/lock_url_check.h"

namespace owsync::shipper {
namespace {

constexpr int64_t kWatchMicros = 20'000;  // how often a term checks it still leads

}  // namespace

ShipNode::ShipNode(FileSystem* fs, Clock* clock, Logger* logger, ShipNodeOptions options)
    : fs_(fs),
      clock_(clock),
      logger_(logger),
      options_(std::move(options)),
      started_micros_(clock->NowMicros()) {
  LeaseOptions lo = options_.lease;
  lo.lock_url = options_.lock_url;
  lo.give_up_on_permanent_error = options_.runner.once;
  auto user_hook = lo.on_change;
  lo.on_change = [this, user_hook](int64_t epoch, const std::string& reason) {
    OnLeaseChange(epoch, reason);
    if (user_hook) user_hook(epoch, reason);
  };
  lease_ = std::make_unique<Lease>(clock_, logger_, options_.url, lo);
  epochs_ = std::make_unique<LeaseEpochSource>(lease_.get());
}

ShipNode::~ShipNode() {
  RequestStop();
  lease_->Stop();
}

void ShipNode::OnLeaseChange(int64_t epoch, const std::string& reason) {
  // Runs on the lease thread: only bookkeeping here; the term loop in Run() reacts.
  if (epoch != 0) {
    logger_->Info("leadership: {} ({}) leads cluster {} with epoch {}: {}", lease_->node_id(),
                  options_.role, options_.lease.cluster, epoch, reason);
  } else {
    logger_->Warn("leadership: {} ({}) no longer leads cluster {}: {}; shipping stops",
                  lease_->node_id(), options_.role, options_.lease.cluster, reason);
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++lease_generation_;
  if (epoch == 0 && runner_) runner_->RequestStop();
  cv_.notify_all();
}

// The fast path's lock must be taken in DATABASE_URL's own database (LockUrlCheck); a
// configuration that cannot work is refused before campaigning. An unreachable server is
// waited for (and said once).
Status ShipNode::CheckLockUrl(Deadline deadline) {
  if (options_.lock_url.empty()) return Status::OK();
  std::string said;
  while (!stop_.load()) {
    Status s = LockUrlCheck::Run(clock_, options_.url, options_.lock_url,
                                 Deadline::After(clock_, 10'000'000));
    if (s.ok() || s.code() == StatusCode::kInvalidArgument) return s;
    if (!s.retryable()) {
      return s.WithContext("checking LOCK_DATABASE_URL (" +
                           LeaseErrorHint(s, options_.lease.cluster) + ")");
    }
    if (said != s.ToString()) {
      logger_->Warn(
          "checking that LOCK_DATABASE_URL reaches DATABASE_URL's database: {}; "
          "trying again",
          s.ToString());
      said = s.ToString();
    }
    if (deadline.RemainingMicros(clock_) <= 0) return s;
    clock_->SleepForMicros(1'000'000);
  }
  return Status::OK();
}

Status ShipNode::Run() {
  const int64_t forever = INT64_MAX / 4;
  const int64_t wait = options_.lease_wait_micros > 0 ? options_.lease_wait_micros : forever;
  OWSYNC_RETURN_IF_ERROR(CheckLockUrl(Deadline::After(clock_, wait)));
  Status result;
  while (!stop_.load()) {
    if (!lease_->IsHeld()) {
      logger_->Info("following: {} ({}) waits for the lease of cluster {} (held by {})",
                    lease_->node_id(), options_.role, options_.lease.cluster,
                    lease_->last_observed().leader_id.empty() ? std::string("nobody yet")
                                                              : lease_->last_observed().leader_id);
    }
    Status held = lease_->AcquireAndKeep(Deadline::After(clock_, wait));
    if (stop_.load()) break;
    if (!held.ok()) {
      if (held.code() == StatusCode::kBusy || held.code() == StatusCode::kUnavailable) {
        if (options_.lease_wait_micros > 0) return held;
        continue;
      }
      return held;
    }
    const int64_t epoch = lease_->epoch();
    if (epoch == 0) continue;  // lost again before we could start
    auto runner =
        std::make_shared<ShipRunner>(fs_, clock_, logger_, options_.runner, epochs_.get());
    {
      std::lock_guard<std::mutex> lock(mu_);
      runner_ = runner;
    }
    Status term;
    std::atomic<bool> term_done{false};
    std::thread worker([&] {
      term = runner->Run();
      term_done.store(true);
    });
    // Stop the term as soon as the lease is gone (by our clock or the server's answer) or a
    // planned stop comes; the runner's tenants finish the batch in flight (a batch of a lost
    // term fails its fencing check rather than commit).
    bool stopped_by_us = false;
    while (!term_done.load()) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, std::chrono::microseconds(kWatchMicros));
      }
      // A new epoch (lost and won again between two looks) is a new term too: its tenants
      // must claim again before they read where they stand.
      if (!stopped_by_us && (stop_.load() || lease_->epoch() != epoch)) {
        stopped_by_us = true;
        runner->RequestStop();
      }
    }
    worker.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_report_ = runner->Report();
      for (const auto& r : last_report_) {
        last_commit_micros_ = std::max(last_commit_micros_, r.progress.last_commit_micros);
      }
      runner_.reset();
    }
    if (options_.runner.once) {
      result = term;
      if (term.ok() && stopped_by_us && !stop_.load()) {
        // The tenants were stopped because the lease went, not because they caught up.
        result =
            Status::Aborted("lost the lease of cluster " + options_.lease.cluster + " (epoch " +
                            std::to_string(epoch) + ") before every tenant caught up");
      }
      break;
    }
    if (stop_.load()) break;
    if (!stopped_by_us && !term.ok()) {
      // The term ended while we still lead: the runner failed (e.g. the outbox root cannot
      // be read). Hand the lease over rather than hold it idle, and exit with the error.
      logger_->Error(
          "leadership: shipping failed while leading epoch {}: {}; releasing the lease so the "
          "other node can try, and exiting",
          epoch, term.ToString());
      Status released = lease_->Release();
      if (!released.ok()) logger_->Warn("releasing the lease: {}", released.ToString());
      return term;
    }
  }
  Status released = lease_->Release();
  if (!released.ok()) logger_->Warn("releasing the lease: {}", released.ToString());
  return result;
}

void ShipNode::RequestStop() {
  stop_.store(true);
  // A follower waits in AcquireAndKeep (forever by default): interrupt it. A leader keeps
  // renewing while its batch in flight finishes; Run() then releases the lease.
  if (!lease_->IsHeld()) lease_->Stop();
  std::lock_guard<std::mutex> lock(mu_);
  if (runner_) runner_->RequestStop();
  cv_.notify_all();
}

NodeSnapshot ShipNode::Snapshot() const {
  NodeSnapshot s;
  s.node_id = lease_->node_id();
  s.role = options_.role;
  s.epoch = lease_->epoch();
  s.is_leader = s.epoch != 0;
  s.lease = lease_->last_observed();
  s.postgres_reachable = lease_->reachable();
  s.started_micros = started_micros_;
  std::lock_guard<std::mutex> lock(mu_);
  s.last_commit_micros = last_commit_micros_;
  if (runner_) {
    for (const auto& r : runner_->Report()) {
      s.last_commit_micros = std::max(s.last_commit_micros, r.progress.last_commit_micros);
    }
  }
  return s;
}

std::vector<TenantReport> ShipNode::Report() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!runner_) return {};
  return runner_->Report();
}

std::vector<TenantReport> ShipNode::LastReport() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_report_;
}

Status ShipNode::ShipNow(const std::string& client) {
  std::shared_ptr<ShipRunner> runner;
  {
    std::lock_guard<std::mutex> lock(mu_);
    runner = runner_;
  }
  if (!runner || !lease_->IsHeld()) {
    return Status::FailedPrecondition("this node does not lead cluster " + options_.lease.cluster);
  }
  return runner->ShipNow(client);
}

}  // namespace owsync::shipper
