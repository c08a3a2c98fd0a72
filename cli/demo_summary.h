// DemoSummary: the figures `owsync demo` collects along the way, and the short summary it
// prints at the end from them. Plain data; Record*() take a phase's results, Lines() formats.
#ifndef OWSYNC_CLI_DEMO_SUMMARY_H_
#define OWSYNC_CLI_DEMO_SUMMARY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "cli/demo_failover.h"
#include "cli/demo_monitor.h"
#include "cli/demo_sample.h"
#include "cli/verifier.h"
#include "cli/workload_generator.h"

namespace owsync::cli {

struct DemoSummary {
  std::string client;
  DemoSampleReport sample;
  int64_t initial_records = 0;  // outbox records acknowledged by the end of the initial sync
  double initial_seconds = 0;
  int64_t write_transactions = 0;
  int64_t write_rows = 0;
  std::string write_counts;  // "12 inserts, 3 updates, ..."
  double write_seconds = 0;
  int64_t acked_before_write = 0;
  int64_t acked_after_write = 0;
  std::vector<int64_t> lag_micros;  // sampled once a second while the application wrote
  int64_t victims = 0;              // rows INSERT OR REPLACE deleted through a UNIQUE column
  DemoFailoverReport failover;
  double failover_into_write_seconds = 0;  // when the leader was killed, from the writing's start
  double catch_up_seconds = 0;
  int64_t final_offset = 0;
  int64_t live_rows = 0;
  DemoTenantCounts tenant;
  bool verified = false;
  int64_t differences = 0;
  double total_seconds = 0;

  // The application's counts (write_*, victims) once it stopped.
  void RecordWrite(const WorkloadGenerator& generator);
  // Sets verified and differences; returns what to print: the tables that differ (with their
  // rows), a line of totals, "verify: PASSED" or "verify: FAILED".
  std::vector<std::string> RecordVerify(const VerifyReport& report);
  std::vector<std::string> Lines() const;
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_DEMO_SUMMARY_H_
