#include "tests/acked_offset_monitor.h"

#include <optional>

#include "shipper/pg_connection.h"

namespace owsync::tests {

using shipper::Deadline;

AckedOffsetMonitor::AckedOffsetMonitor(Clock* clock, std::string admin_url, std::string client,
                                       int64_t period_micros)
    : clock_(clock),
      admin_url_(std::move(admin_url)),
      client_(std::move(client)),
      period_micros_(period_micros) {}

AckedOffsetMonitor::~AckedOffsetMonitor() { Stop(); }

void AckedOffsetMonitor::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void AckedOffsetMonitor::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> AckedOffsetMonitor::decreases() const {
  std::lock_guard<std::mutex> lock(mu_);
  return decreases_;
}

void AckedOffsetMonitor::Loop() {
  std::optional<shipper::PgConnection> conn;
  shipper::PgConnectOptions o;
  o.application_name = "owsync-test-acked-monitor";
  while (!stop_.load()) {
    if (!conn.has_value() || conn->is_broken()) {
      conn.reset();
      auto c =
          shipper::PgConnection::Connect(clock_, admin_url_, Deadline::After(clock_, 1'000'000), o);
      if (!c.ok()) {
        failed_.fetch_add(1);
        clock_->SleepForMicros(100'000);
        continue;
      }
      conn.emplace(std::move(*c));
    }
    auto res = conn->ExecParams(
        "SELECT acked_offset FROM sync_metadata.tenant_offsets WHERE client_name = $1", {client_},
        Deadline::After(clock_, 2'000'000));
    if (!res.ok() || res->rows() != 1) {
      failed_.fetch_add(1);
      conn.reset();
      clock_->SleepForMicros(100'000);
      continue;
    }
    const int64_t acked = std::stoll(std::string(res->GetValue(0, 0)));
    const int64_t before = last_.exchange(acked);
    if (before > acked) {
      std::lock_guard<std::mutex> lock(mu_);
      decreases_.push_back("acked went from " + std::to_string(before) + " to " +
                           std::to_string(acked));
    }
    samples_.fetch_add(1);
    clock_->SleepForMicros(period_micros_);
  }
}

}  // namespace owsync::tests
