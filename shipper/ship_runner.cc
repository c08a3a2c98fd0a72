#include "shipper/ship_runner.h"

#include "outbox/format.h"

namespace owsync::shipper {

ShipRunner::~ShipRunner() { StopAll(); }

Result<std::map<std::string, std::string>> ShipRunner::FindTenants(FileSystem* fs,
                                                                   const std::string& root) {
  OWSYNC_ASSIGN_OR_RETURN(std::vector<std::string> children, fs->GetChildren(root));
  std::map<std::string, std::string> tenants;
  for (const std::string& child : children) {
    if (child.empty() || child[0] == '.') continue;
    std::string dir = root + "/" + child;
    if (fs->FileExists(dir + "/" + outbox::format::kIdentityFileName)) tenants[child] = dir;
  }
  return tenants;
}

void ShipRunner::Start(const std::string& client, const std::string& dir, Slot* slot) {
  TenantShipperOptions o = options_.tenant;
  o.client = client;
  o.outbox_dir = dir;
  o.once = options_.once;
  slot->shipper = std::make_unique<TenantShipper>(fs_, clock_, logger_, o, epochs_);
  slot->finished.store(false);
  slot->result = Status::OK();
  slot->starts++;
  TenantShipper* shipper = slot->shipper.get();
  slot->thread = std::thread([this, slot, shipper, client] {
    Status st = shipper->Run();
    if (!st.ok()) {
      std::string said;
      {
        std::lock_guard<std::mutex> lock(mu_);
        said = slot->logged_error;
        slot->logged_error = st.ToString();
      }
      // The same error at every restart is said once, loudly; then at debug level.
      if (said != st.ToString()) {
        logger_->Error("tenant {}: stopped: {}", client, st.ToString());
      } else {
        logger_->Debug("tenant {}: stopped again: {}", client, st.ToString());
      }
    } else if (options_.once) {
      logger_->Info("tenant {}: caught up at offset {}", client, shipper->progress().acked_offset);
    }
    std::lock_guard<std::mutex> lock(mu_);
    slot->result = st;
    slot->finished.store(true);
  });
}

Status ShipRunner::Run() {
  int64_t next_scan = 0;
  while (!stop_.load()) {
    int64_t now = clock_->MonotonicMicros();
    if (now >= next_scan) {
      Result<std::map<std::string, std::string>> tenants = FindTenants(fs_, options_.outbox_root);
      if (!tenants.ok() && tenants.status().IsNotFound() && !options_.once) {
        // The root appears with the first capture: wait for it instead of exiting.
        if (!root_missing_logged_) {
          logger_->Warn("outbox root {} does not exist yet; looking again every {} s",
                        options_.outbox_root, options_.rescan_micros / 1'000'000);
          root_missing_logged_ = true;
        }
        tenants = std::map<std::string, std::string>{};
      }
      if (!tenants.ok()) return tenants.status();
      if (tenants->empty() && options_.once) {
        return Status::NotFound("no tenant outbox (a directory with an IDENTITY file) under " +
                                options_.outbox_root);
      }
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [client, dir] : *tenants) {
        if (slots_.count(client) != 0) continue;
        logger_->Info("tenant {}: found outbox {}", client, dir);
        auto slot = std::make_unique<Slot>();
        Start(client, dir, slot.get());
        slots_[client] = std::move(slot);
      }
      next_scan = now + options_.rescan_micros;
    }
    bool all_finished = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [client, slot] : slots_) {
        if (!slot->finished.load()) {
          all_finished = false;
          continue;
        }
        if (options_.once) continue;
        if (slot->thread.joinable()) {
          slot->thread.join();
          slot->restart_at = now + options_.restart_micros;
          if (slot->starts == 1 || slot->result.ToString() != slot->logged_restart) {
            logger_->Warn("tenant {}: restarting in {} s (and every {} s while it fails)", client,
                          options_.restart_micros / 1'000'000, options_.restart_micros / 1'000'000);
            slot->logged_restart = slot->result.ToString();
          }
        } else if ((now >= slot->restart_at || slot->restart_now) && epochs_->CurrentEpoch() != 0) {
          slot->restart_now = false;
          std::string dir = options_.outbox_root + "/" + client;
          Start(client, dir, slot.get());
        }
      }
    }
    if (options_.once && all_finished) break;
    clock_->SleepForMicros(100'000);
  }
  StopAll();
  std::string failed;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [client, slot] : slots_) {
    if (!slot->result.ok()) failed += "\n  " + client + ": " + slot->result.ToString();
  }
  if (!failed.empty()) return Status::Aborted("tenants not caught up:" + failed);
  return Status::OK();
}

void ShipRunner::RequestStop() {
  stop_.store(true);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [client, slot] : slots_) {
    if (slot->shipper) slot->shipper->RequestStop();
  }
}

void ShipRunner::StopAll() {
  std::vector<std::thread*> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [client, slot] : slots_) {
      if (slot->shipper) slot->shipper->RequestStop();
      if (slot->thread.joinable()) threads.push_back(&slot->thread);
    }
  }
  for (std::thread* t : threads) t->join();
}

std::vector<TenantReport> ShipRunner::Report() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<TenantReport> out;
  for (const auto& [client, slot] : slots_) {
    TenantReport r;
    r.client = client;
    if (slot->shipper) r.progress = slot->shipper->progress();
    r.running = !slot->finished.load();
    if (!slot->result.ok()) r.stopped_error = slot->result.ToString();
    r.starts = slot->starts;
    out.push_back(std::move(r));
  }
  return out;
}

Status ShipRunner::ShipNow(const std::string& client) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(client);
  if (it == slots_.end()) {
    return Status::NotFound("no tenant '" + client + "' is shipped from " + options_.outbox_root);
  }
  Slot* slot = it->second.get();
  if (slot->finished.load()) {
    slot->restart_now = true;
  } else if (slot->shipper) {
    slot->shipper->ShipNow();
  }
  return Status::OK();
}

}  // namespace owsync::shipper
