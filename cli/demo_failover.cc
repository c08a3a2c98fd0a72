#include "cli/demo_failover.h"

#include <fmt/format.h>

#include <charconv>

#include "cli/local_postgres.h"

namespace owsync::cli {
namespace {

using shipper::Deadline;

constexpr int64_t kPollMicros = 20'000;
constexpr int64_t kQueryMicros = 10'000'000;
constexpr int64_t kStartTimeoutMicros = 60'000'000;
constexpr int64_t kLeaseRetryMicros = 500'000;  // a follower's campaign period (ha-spec)

double Seconds(int64_t micros) { return static_cast<double>(micros) / 1e6; }

int64_t ToInt(std::string_view text) {
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// The pid in a node id "<host>:<role>:<pid>:<hex>", 0 when it has none.
pid_t PidOfNodeId(const std::string& node_id) {
  size_t begin = 0;
  for (int field = 0; field < 2; ++field) {
    begin = node_id.find(':', begin);
    if (begin == std::string::npos) return 0;
    ++begin;
  }
  return static_cast<pid_t>(ToInt(std::string_view(node_id).substr(begin)));
}

}  // namespace

Result<std::unique_ptr<DemoFailover>> DemoFailover::Create(FileSystem* fs, Clock* clock,
                                                           DemoProcesses* processes,
                                                           DemoFailoverOptions options, Say say) {
  OWSYNC_ASSIGN_OR_RETURN(
      shipper::PgConnection conn,
      shipper::PgConnection::Connect(clock, options.admin_url, Deadline::After(clock, kQueryMicros),
                                     {.application_name = "owsync demo failover"}));
  return std::unique_ptr<DemoFailover>(
      new DemoFailover(fs, clock, processes, std::move(options), std::move(say), std::move(conn)));
}

Result<DemoFailover::LeaseRow> DemoFailover::ReadLease() {
  OWSYNC_ASSIGN_OR_RETURN(
      shipper::PgResult res,
      conn_.ExecParams("SELECT coalesce(le.leader_id, ''), coalesce(le.epoch, 0), o.acked_epoch, "
                       "o.acked_offset FROM sync_metadata.tenant_offsets o LEFT JOIN "
                       "sync_metadata.leader_election le ON le.cluster_name = $1 "
                       "WHERE o.client_name = $2",
                       {options_.cluster, options_.client}, Deadline::After(clock_, kQueryMicros)));
  if (res.rows() != 1) return Status::Internal("no tenant_offsets row for " + options_.client);
  LeaseRow row;
  row.leader_id = std::string(res.GetValue(0, 0));
  row.epoch = ToInt(res.GetValue(0, 1));
  row.acked_epoch = ToInt(res.GetValue(0, 2));
  row.acked_offset = ToInt(res.GetValue(0, 3));
  return row;
}

std::string DemoFailover::RoleOf(const std::string& leader_id) const {
  const pid_t pid = PidOfNodeId(leader_id);
  for (const Node& node : nodes_) {
    if (pid > 0 && processes_->Pid(NodeName(node.role)) == pid) return node.role;
  }
  return "";
}

Status DemoFailover::StartNode(const Node& node) {
  return processes_->Start(NodeName(node.role), {"ship", "--outbox-root", options_.outbox_root},
                           node.env);
}

std::string DemoFailover::AcquireReason(const std::string& role, int64_t epoch) const {
  auto log = ReadFileToString(fs_, processes_->LogPath(NodeName(role)));
  const std::string needle = fmt::format("acquired epoch {} (", epoch);
  const size_t at = log.ok() ? log->rfind(needle) : std::string::npos;
  if (at == std::string::npos) return "";
  const size_t begin = at + needle.size();
  const size_t end = log->find('\n', begin);
  std::string reason = log->substr(begin, end == std::string::npos ? end : end - begin);
  if (!reason.empty() && reason.back() == ')') reason.pop_back();
  return reason;
}

Status DemoFailover::PollUntil(const std::string& what, int64_t timeout_micros, const Tick& tick,
                               const std::function<Result<bool>()>& done) {
  const int64_t deadline = clock_->MonotonicMicros() + timeout_micros;
  while (true) {
    OWSYNC_ASSIGN_OR_RETURN(bool finished, done());
    if (finished) return Status::OK();
    if (clock_->MonotonicMicros() >= deadline) {
      return Status::Internal(fmt::format(
          "{}: not within {:.0f} s; see {} and {}", what, Seconds(timeout_micros),
          processes_->LogPath(NodeName("primary")), processes_->LogPath(NodeName("secondary"))));
    }
    OWSYNC_RETURN_IF_ERROR(tick());
    clock_->SleepForMicros(kPollMicros);
  }
}

Status DemoFailover::Start(const Tick& tick) {
  int ports[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    while (ports[i] == 0 || (i == 1 && ports[1] == ports[0])) {
      OWSYNC_ASSIGN_OR_RETURN(ports[i], PickFreeLoopbackPort());
    }
  }
  nodes_ = {{"primary", {"ROLE=primary", fmt::format("API_PORT={}", ports[0])}},
            {"secondary", {"ROLE=secondary", fmt::format("API_PORT={}", ports[1])}}};
  OWSYNC_RETURN_IF_ERROR(StartNode(nodes_[0]));
  LeaseRow row;
  OWSYNC_RETURN_IF_ERROR(
      PollUntil("the primary taking the lease", kStartTimeoutMicros, tick, [&]() -> Result<bool> {
        OWSYNC_ASSIGN_OR_RETURN(row, ReadLease());
        return RoleOf(row.leader_id) == "primary";
      }));
  OWSYNC_RETURN_IF_ERROR(StartNode(nodes_[1]));
  say_(fmt::format(
      "      {} (pid {}, API 127.0.0.1:{}) leads with epoch {}; {} (pid {}, API 127.0.0.1:{}) "
      "follows",
      NodeName("primary"), processes_->Pid(NodeName("primary")), ports[0], row.epoch,
      NodeName("secondary"), processes_->Pid(NodeName("secondary")), ports[1]));
  return Status::OK();
}

Status DemoFailover::KillLeader(const Tick& tick) {
  OWSYNC_ASSIGN_OR_RETURN(LeaseRow before, ReadLease());
  DemoFailoverReport& r = report_;
  r.old_role = RoleOf(before.leader_id);
  if (r.old_role.empty()) {
    return Status::Internal("the lease row names " + before.leader_id +
                            ", none of the demo's ship nodes");
  }
  r.old_pid = processes_->Pid(NodeName(r.old_role));
  r.old_epoch = before.epoch;
  r.acked_at_kill = before.acked_offset;
  const int64_t t0 = clock_->MonotonicMicros();
  OWSYNC_ASSIGN_OR_RETURN(std::string how, processes_->Kill(NodeName(r.old_role)));
  say_(fmt::format("      SIGKILL to the leader {} (pid {}, epoch {}) at acked offset {}: {}",
                   NodeName(r.old_role), r.old_pid, r.old_epoch, r.acked_at_kill, how));
  r.acked_left = before.acked_offset;
  const int64_t timeout = static_cast<int64_t>(options_.lease_seconds * 2e6) + 15'000'000;
  OWSYNC_RETURN_IF_ERROR(PollUntil("a takeover", timeout, tick, [&]() -> Result<bool> {
    OWSYNC_ASSIGN_OR_RETURN(LeaseRow row, ReadLease());
    const int64_t since = clock_->MonotonicMicros() - t0;
    if (r.new_epoch == 0 && row.epoch > r.old_epoch) {
      r.lease_micros = since;
      r.new_epoch = row.epoch;
      new_leader_id_ = row.leader_id;
      r.new_role = RoleOf(row.leader_id);
      if (r.new_role.empty()) return Status::Internal("the lease went to " + row.leader_id);
    }
    if (r.new_epoch == 0 || row.acked_epoch != r.new_epoch) {
      r.acked_left = row.acked_offset;
      return false;
    }
    if (r.claim_micros < 0) r.claim_micros = since;
    if (row.acked_offset <= r.acked_left) return false;
    r.commit_micros = since;
    r.first_commit_acked = row.acked_offset;
    return true;
  }));
  r.reason = AcquireReason(r.new_role, r.new_epoch);
  say_(fmt::format("      {} took the lease {:.2f} s after the kill with epoch {}{}",
                   NodeName(r.new_role), Seconds(r.lease_micros), r.new_epoch,
                   r.reason.empty() ? "" : " (its log: " + r.reason + ")"));
  say_(fmt::format(
      "      it claimed the tenant after {:.2f} s and committed its first batch {:.2f} s after "
      "the kill (acked offset {} -> {}): takeover {:.2f} s",
      Seconds(r.claim_micros), Seconds(r.commit_micros), r.acked_left, r.first_commit_acked,
      Seconds(r.commit_micros)));
  return Status::OK();
}

Status DemoFailover::Restart(const Tick& tick) {
  const Node* node = nullptr;
  for (const Node& n : nodes_) {
    if (n.role == report_.old_role) node = &n;
  }
  if (node == nullptr) return Status::Internal("no node was killed");
  OWSYNC_ASSIGN_OR_RETURN(shipper::PgResult now, conn_.Exec("SELECT clock_timestamp()::text",
                                                            Deadline::After(clock_, kQueryMicros)));
  const std::string restarted_at(now.GetValue(0, 0));
  OWSYNC_RETURN_IF_ERROR(StartNode(*node));
  report_.restarted_pid = processes_->Pid(NodeName(node->role));
  // Its lease connection (application_name owsync-lease, opened after the restart) ran a
  // statement: it campaigned at least once.
  OWSYNC_RETURN_IF_ERROR(
      PollUntil("the restarted node campaigning", kStartTimeoutMicros, tick, [&]() -> Result<bool> {
        OWSYNC_ASSIGN_OR_RETURN(
            shipper::PgResult res,
            conn_.ExecParams("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                             "'owsync-lease' AND backend_start >= $1::timestamptz AND "
                             "query <> ''",
                             {restarted_at}, Deadline::After(clock_, kQueryMicros)));
        return ToInt(res.GetValue(0, 0)) > 0;
      }));
  const int64_t settle = clock_->MonotonicMicros() + 3 * kLeaseRetryMicros;
  OWSYNC_RETURN_IF_ERROR(PollUntil("settling", kStartTimeoutMicros, tick, [&]() -> Result<bool> {
    return clock_->MonotonicMicros() >= settle;
  }));
  OWSYNC_ASSIGN_OR_RETURN(LeaseRow row, ReadLease());
  report_.restarted_follows = row.leader_id == new_leader_id_ && row.epoch == report_.new_epoch;
  if (!report_.restarted_follows) {
    return Status::Internal(
        fmt::format("leadership moved after {} was restarted: the lease names {} with epoch {}",
                    NodeName(node->role), row.leader_id, row.epoch));
  }
  say_(fmt::format(
      "      restarted {} (pid {}): it campaigns as a follower; the lease stays with {} (epoch "
      "{}): leadership did not move back",
      NodeName(node->role), report_.restarted_pid, NodeName(report_.new_role), report_.new_epoch));
  return Status::OK();
}

Status DemoFailover::Stop(int64_t grace_micros) {
  OWSYNC_ASSIGN_OR_RETURN(LeaseRow row, ReadLease());
  report_.stayed_to_end = row.leader_id == new_leader_id_ && row.epoch == report_.new_epoch;
  if (!report_.stayed_to_end) {
    return Status::Internal(
        fmt::format("leadership changed again after the failover: the lease names {} with epoch {}",
                    row.leader_id, row.epoch));
  }
  for (const std::string& role : {report_.old_role, report_.new_role}) {
    OWSYNC_ASSIGN_OR_RETURN(std::string how, processes_->Stop(NodeName(role), grace_micros));
    say_(fmt::format("      {} ({}) stopped (SIGTERM: {})", NodeName(role),
                     role == report_.new_role ? "leader" : "follower", how));
  }
  return Status::OK();
}

}  // namespace owsync::cli
