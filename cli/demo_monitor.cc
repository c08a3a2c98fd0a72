#include "cli/demo_monitor.h"

#include <charconv>

#include "outbox/format.h"
#include "outbox/watermark.h"

namespace owsync::cli {
namespace {

constexpr int64_t kConnectMicros = 30'000'000;
constexpr int64_t kQueryMicros = 30'000'000;

}  // namespace

Result<DemoMonitor> DemoMonitor::Connect(FileSystem* fs, Clock* clock, const std::string& admin_url,
                                         std::string client, std::string outbox_dir) {
  OWSYNC_ASSIGN_OR_RETURN(shipper::PgConnection conn,
                          shipper::PgConnection::Connect(
                              clock, admin_url, shipper::Deadline::After(clock, kConnectMicros),
                              {.application_name = "owsync demo"}));
  return DemoMonitor(fs, clock, std::move(conn), std::move(client), std::move(outbox_dir));
}

Result<int64_t> DemoMonitor::QueryInt(const std::string& sql, bool with_client) {
  std::vector<std::optional<std::string>> params;
  if (with_client) params.push_back(client_);
  OWSYNC_ASSIGN_OR_RETURN(
      shipper::PgResult res,
      conn_.ExecParams(sql, params, shipper::Deadline::After(clock_, kQueryMicros)));
  if (res.rows() == 0 || res.IsNull(0, 0)) return int64_t{0};
  const std::string_view text = res.GetValue(0, 0);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Status::Internal("not an integer: " + std::string(text));
  }
  return value;
}

Result<DemoOffsets> DemoMonitor::Sample() {
  DemoOffsets out;
  OWSYNC_ASSIGN_OR_RETURN(
      std::optional<outbox::Watermark> mark,
      outbox::Watermark::Read(fs_, JoinPath(outbox_dir_, outbox::format::kDurableFileName)));
  if (mark.has_value()) out.durable = mark->durable_offset;
  OWSYNC_ASSIGN_OR_RETURN(
      out.acked,
      QueryInt("SELECT acked_offset FROM sync_metadata.tenant_offsets WHERE client_name = $1"));
  const int64_t now = clock_->MonotonicMicros();
  if (history_.empty() || history_.back().second != out.durable) {
    history_.emplace_back(now, out.durable);
  }
  // Samples the acknowledgement passed are history; the oldest remaining one is when the
  // oldest record PostgreSQL still lacks became durable (at the latest).
  while (!history_.empty() && static_cast<int64_t>(history_.front().second) <= out.acked) {
    history_.pop_front();
  }
  out.lag_micros = history_.empty() ? 0 : now - history_.front().first;
  return out;
}

Result<DemoTenantCounts> DemoMonitor::TenantCounts() {
  DemoTenantCounts out;
  OWSYNC_ASSIGN_OR_RETURN(
      out.dead_letters,
      QueryInt("SELECT count(*) FROM sync_metadata.dead_letters WHERE client_name = $1"));
  OWSYNC_ASSIGN_OR_RETURN(
      out.conflicts,
      QueryInt("SELECT count(*) FROM sync_metadata.conflict_log WHERE client_name = $1"));
  return out;
}

Result<int64_t> DemoMonitor::LiveRows() {
  OWSYNC_ASSIGN_OR_RETURN(
      shipper::PgResult tables,
      conn_.ExecParams("SELECT table_name FROM information_schema.columns WHERE table_schema = $1 "
                       "AND column_name = '_owsync_deleted_at' ORDER BY 1",
                       {client_}, shipper::Deadline::After(clock_, kQueryMicros)));
  OWSYNC_ASSIGN_OR_RETURN(std::string schema, conn_.QuoteIdentifier(client_));
  int64_t total = 0;
  for (int r = 0; r < tables.rows(); ++r) {
    OWSYNC_ASSIGN_OR_RETURN(std::string table, conn_.QuoteIdentifier(tables.GetValue(r, 0)));
    OWSYNC_ASSIGN_OR_RETURN(int64_t n, QueryInt("SELECT count(*) FROM " + schema + "." + table +
                                                    " WHERE _owsync_deleted_at IS NULL",
                                                /*with_client=*/false));
    total += n;
  }
  return total;
}

}  // namespace owsync::cli
