#include "cli/demo_summary.h"

#include <fmt/format.h>

#include <algorithm>

namespace owsync::cli {
namespace {

double Seconds(int64_t micros) { return static_cast<double>(micros) / 1e6; }
double PerSecond(double n, double seconds) { return n / std::max(seconds, 0.001); }

}  // namespace

std::vector<std::string> DemoSummary::Lines() const {
  std::vector<int64_t> lags = lag_micros;
  std::sort(lags.begin(), lags.end());
  const double p50 = lags.empty() ? 0 : Seconds(lags[lags.size() / 2]);
  const double max = lags.empty() ? 0 : Seconds(lags.back());
  const int64_t shipped_while_writing = acked_after_write - acked_before_write;
  std::vector<std::string> out;
  out.push_back(
      fmt::format("  sample database  {} chats ({:.1f} MB of JSON), {} messages, {} "
                  "other rows changed; {:.1f} MB",
                  sample.chats, sample.chat_json_bytes / 1e6, sample.messages, sample.general_rows,
                  sample.database_bytes / 1e6));
  out.push_back(
      fmt::format("  initial sync     {} outbox records acknowledged in {:.1f} s "
                  "({:.0f} records/s, {:.1f} MB/s of SQLite data)",
                  initial_records, initial_seconds, PerSecond(initial_records, initial_seconds),
                  PerSecond(sample.database_bytes / 1e6, initial_seconds)));
  out.push_back(fmt::format("  application      {} transactions changed {} rows in {:.1f} s ({})",
                            write_transactions, write_rows, write_seconds, write_counts));
  out.push_back(fmt::format(
      "  shipped          {} records while it wrote ({:.0f} records/s); "
      "replication lag p50 {:.1f} s, max {:.1f} s (sampled every 0.1 s)",
      shipped_while_writing, PerSecond(shipped_while_writing, write_seconds), p50, max));
  out.push_back(fmt::format(
      "  caught up        {:.1f} s after the application stopped{}; {} records in all",
      catch_up_seconds,
      victims > 0 ? fmt::format(" (re-snapshot of {} table(s) for {} rows deleted by INSERT OR "
                                "REPLACE included)",
                                resnapshot_tables.size(), victims)
                  : "",
      final_offset));
  out.push_back(
      fmt::format("  PostgreSQL       {} live rows in schema \"{}\"; {} dead letters "
                  "(values PostgreSQL cannot hold, kept with their reason in "
                  "sync_metadata.dead_letters), {} conflicts",
                  live_rows, client, tenant.dead_letters, tenant.conflicts));
  out.push_back(fmt::format("  verify           {} ({} differences)",
                            verified ? "PASSED" : "FAILED", differences));
  out.push_back(fmt::format("  demo took        {:.1f} s", total_seconds));
  return out;
}

}  // namespace owsync::cli
