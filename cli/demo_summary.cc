#include "cli/demo_summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace owsync::cli {
namespace {

double Seconds(int64_t micros) { return static_cast<double>(micros) / 1e6; }
double PerSecond(double n, double seconds) { return n / std::max(seconds, 0.001); }

}  // namespace

void DemoSummary::RecordWrite(const WorkloadGenerator& generator) {
  const WorkloadCounts& c = generator.counts();
  write_transactions = c.transactions;
  write_rows = c.rows_changed;
  write_counts = fmt::format(
      "{} inserts, {} updates, {} upserts, {} key changes, {} deletes, {} INSERT OR REPLACE, "
      "{} odd values",
      c.inserts, c.updates, c.upserts, c.key_changes, c.deletes, c.replaces + c.replace_collisions,
      c.odd_values);
  victims = static_cast<int64_t>(generator.victims().size());
}

std::vector<std::string> DemoSummary::RecordVerify(const VerifyReport& report) {
  std::vector<std::string> out;
  int64_t rows = 0;
  int64_t equal = 0;
  int64_t dead_letters = 0;
  int64_t conflicts = 0;
  int tables = 0;
  for (const VerifyTable& t : report.tables) {
    if (!t.replicated) continue;
    ++tables;
    rows += t.rows;
    equal += t.equal;
    dead_letters += t.dead_letters;
    conflicts += t.conflicts;
    if (t.differences > 0 || !t.problem.empty()) {
      out.push_back(fmt::format("table {}: {} differences {}", t.table, t.differences, t.problem));
      for (const VerifyRow& r : t.rows_reported) {
        if (r.tolerated.empty()) out.push_back("  " + r.kind + " " + r.record_key + " " + r.detail);
      }
    }
  }
  if (!report.caught_up) out.push_back(report.not_caught_up);
  verified = report.ExitCode(/*strict=*/false) == 0;
  differences = report.Differences();
  out.push_back(
      fmt::format("{} tables, {} rows compared: {} equal, {} differences, {} rows with a "
                  "dead letter and {} with a pending conflict (listed, allowed)",
                  tables, rows, equal, differences, dead_letters, conflicts));
  out.push_back(verified ? "verify: PASSED" : "verify: FAILED");
  return out;
}

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
      "replication lag p50 {:.1f} s, max {:.1f} s (sampled every 0.1 s, the failover "
      "included)",
      shipped_while_writing, PerSecond(shipped_while_writing, write_seconds), p50, max));
  const DemoFailoverReport& f = failover;
  out.push_back(fmt::format(
      "  failover         SIGKILL of the leader ship-{} (pid {}, epoch {}) {:.1f} s into the "
      "writing; ship-{} took over with epoch {} (lease after {:.2f} s, tenant claimed after "
      "{:.2f} s)",
      f.old_role, f.old_pid, f.old_epoch, failover_into_write_seconds, f.new_role, f.new_epoch,
      Seconds(f.lease_micros), Seconds(f.claim_micros)));
  out.push_back(
      fmt::format("  takeover         {:.2f} s from the kill to the new leader's first commit "
                  "(acked offset {} -> {})",
                  Seconds(f.commit_micros), f.acked_left, f.first_commit_acked));
  out.push_back(fmt::format(
      "  after failover   the restarted ship-{} {}; ship-{} {}; verify after the failover {}",
      f.old_role,
      f.restarted_follows ? "came back as a follower" : "did NOT come back as a follower",
      f.new_role, f.stayed_to_end ? "led to the end" : "did NOT lead to the end",
      verified ? "PASSED" : "FAILED"));
  out.push_back(fmt::format(
      "  caught up        {:.1f} s after the application stopped{}; {} records in all",
      catch_up_seconds,
      victims > 0 ? fmt::format(" ({} rows INSERT OR REPLACE deleted through a UNIQUE column "
                                "included: capture's BEFORE triggers saw them)",
                                victims)
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
