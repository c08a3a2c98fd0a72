// ShipRunner: the leader's shipping work for one host: every tenant outbox directory under
// an outbox root (DIR/<client>/, recognised by its IDENTITY file) gets a TenantShipper on its
// own thread. A tenant that stops on an error is logged and started again after
// `restart_micros` (an operator fix such as `provision --migrate` then takes effect without a
// restart); the others go on. New tenant directories are picked up every `rescan_micros`.
#ifndef OWSYNC_SHIPPER_SHIP_RUNNER_H_
#define OWSYNC_SHIPPER_SHIP_RUNNER_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "shipper/epoch_source.h"
#include "shipper/tenant_shipper.h"

namespace owsync::shipper {

struct ShipRunnerOptions {
  std::string outbox_root;
  TenantShipperOptions tenant;  // client and outbox_dir are filled in per tenant
  bool once = false;            // ship everything there, then return
  int64_t rescan_micros = 10'000'000;
  int64_t restart_micros = 30'000'000;
};

struct TenantReport {
  std::string client;
  TenantProgress progress;
  bool running = false;
  std::string stopped_error;  // why the tenant stopped ("" when running or finished OK)
  int64_t starts = 0;         // how often its shipper was started (a restart counts)
};

class ShipRunner {
 public:
  ShipRunner(FileSystem* fs, Clock* clock, Logger* logger, ShipRunnerOptions options,
             const EpochSource* epochs)
      : fs_(fs), clock_(clock), logger_(logger), options_(std::move(options)), epochs_(epochs) {}
  ~ShipRunner();

  // Continuous: runs until RequestStop(); OK. Once: returns OK when every tenant is caught up,
  // else an error naming the tenants that failed. NotFound when the root has no outbox.
  [[nodiscard]] Status Run();
  void RequestStop();

  std::vector<TenantReport> Report() const;
  // Ships `client` now: wakes its shipper from a sync-interval wait, or restarts a stopped
  // one at once instead of after restart_micros. NotFound when no such tenant is shipped.
  [[nodiscard]] Status ShipNow(const std::string& client);

  // Tenant outbox directories under `root`: client name -> directory.
  static Result<std::map<std::string, std::string>> FindTenants(FileSystem* fs,
                                                                const std::string& root);

 private:
  struct Slot {
    std::unique_ptr<TenantShipper> shipper;
    std::thread thread;
    std::atomic<bool> finished{false};
    Status result;
    int64_t restart_at = 0;
    bool restart_now = false;  // ShipNow on a stopped tenant
    int64_t starts = 0;
    std::string logged_error;    // the last error logged (a repeat is not logged again)
    std::string logged_restart;  // the error of the last "restarting" line
  };
  void Start(const std::string& client, const std::string& dir, Slot* slot);
  void StopAll();

  FileSystem* fs_;
  Clock* clock_;
  Logger* logger_;
  ShipRunnerOptions options_;
  const EpochSource* epochs_;
  std::atomic<bool> stop_{false};
  bool root_missing_logged_ = false;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Slot>> slots_;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_SHIP_RUNNER_H_
