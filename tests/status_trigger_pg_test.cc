// `owsync status` and `owsync trigger` against a real PostgreSQL and in-process nodes of an HA
// pair (shipper/node_test_fixture.h): the lines a person reads while both nodes run, after a
// planned stop of both (status reads PostgreSQL directly), a stale heartbeat, --json; trigger
// --wait through the follower (409, then the leader), and its explanations when refused.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "shipper/node_test_fixture.h"
#include "tests/cli_runner.h"

namespace owsync::tests {
namespace {

using nlohmann::json;
using shipper::HttpReply;

class StatusTriggerTest : public shipper::NodeServicesTest {
 protected:
  CliRun Owsync(const std::vector<std::string>& args, std::map<std::string, std::string> env = {}) {
    env.emplace("DATABASE_URL", host_.url);
    env.emplace("API_TOKEN_FILE", token_file_);
    return RunCli(args, env_->fs(), clock_, &cli_log_, env);
  }
  static bool HasLine(const std::string& out, const std::string& line) {
    return ("\n" + out).find("\n" + line + "\n") != std::string::npos;
  }
  static bool HasLineStarting(const std::string& out, const std::string& start) {
    return ("\n" + out).find("\n" + start) != std::string::npos;
  }
  CapturingLogger cli_log_;
};

TEST_F(StatusTriggerTest, StatusShowsLeaderStandbyLastSyncConflictsAndTenants) {
  ASSERT_NO_FATAL_FAILURE(ProvisionTenant());
  const uint64_t durable = Write(1, 6);
  ASSERT_NO_FATAL_FAILURE(StartPair());
  ASSERT_TRUE(WaitFor([&] { return Acked() == std::to_string(durable); })) << Acked();
  CliRun run;
  // The leader's heartbeat reports the backlog within a heartbeat (1 s).
  ASSERT_TRUE(WaitFor([&] {
    run = Owsync({"status"});
    return run.exit_code == 0 &&
           HasLine(run.out, "  " + client_ + ": acked offset " + std::to_string(durable) +
                                ", lag 0.0 s, backlog 0 records, dead letters 0");
  })) << run.out
      << run.err;
  EXPECT_TRUE(HasLine(run.out, "Cluster: " + host_.cluster)) << run.out;
  EXPECT_TRUE(HasLine(run.out, "Primary: ✅ Running (Leader)")) << run.out;
  EXPECT_TRUE(HasLine(run.out, "Secondary: ✅ Running (Standby)")) << run.out;
  EXPECT_TRUE(HasLine(run.out, "Last Sync: just now") ||
              HasLineStarting(run.out, "Last Sync: 1 second ago") ||
              HasLineStarting(run.out, "Last Sync: 2 seconds ago"))
      << run.out;
  EXPECT_TRUE(HasLine(run.out, "Conflicts: 0")) << run.out;
  EXPECT_TRUE(HasLine(run.out, "Tenants: 1")) << run.out;
  EXPECT_TRUE(HasLineStarting(run.out, "Lease: epoch ")) << run.out;

  // --json: the document of GET /api/v1/cluster/status.
  CliRun j = Owsync({"status", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  json doc = json::parse(j.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << j.out;
  EXPECT_EQ(doc["nodes"][0]["leadership"], "leader");
  EXPECT_EQ(doc["nodes"][1]["state"], "running");
  EXPECT_EQ(doc["tenants"][0]["acked_offset"], durable);
  HttpReply api = Call(primary_, "GET", "/api/v1/cluster/status", "");
  ASSERT_EQ(api.status, 200);
  for (const char* key :
       {"cluster", "lease", "nodes", "tenants", "last_sync", "pending_conflicts", "dead_letters"}) {
    EXPECT_TRUE(doc.contains(key) && api.body.contains(key)) << key;
  }
  EXPECT_EQ(doc["nodes"].size(), api.body["nodes"].size());

  // Both nodes stopped (planned): status still answers, from PostgreSQL.
  secondary_->Stop();
  primary_->Stop();
  run = Owsync({"status"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(HasLineStarting(run.out, "Primary: ❌ Not running (stopped ")) << run.out;
  EXPECT_TRUE(HasLineStarting(run.out, "Secondary: ❌ Not running (stopped ")) << run.out;
  EXPECT_TRUE(HasLineStarting(run.out, "Lease: expired (last held by ")) << run.out;
  EXPECT_TRUE(HasLine(run.out, "  " + client_ + ": acked offset " + std::to_string(durable) +
                                   ", lag unknown, backlog unknown (no leader reports it), "
                                   "dead letters 0") ||
              HasLineStarting(
                  run.out, "  " + client_ + ": acked offset " + std::to_string(durable) + ", lag "))
      << run.out;

  // A node that stopped heartbeating without a planned stop (killed, frozen) is stale.
  AdminValue(
      "UPDATE sync_metadata.cluster_nodes SET status = 'running', last_heartbeat = now() - "
      "interval '2 minutes' WHERE cluster_name = $1 AND node_role = 'secondary' RETURNING 1",
      {host_.cluster});
  run = Owsync({"status"});
  EXPECT_TRUE(HasLine(run.out, "Secondary: ⚠️ Stale (last heartbeat 2 minutes ago)"))
      << run.out;
}

TEST_F(StatusTriggerTest, StatusWithoutNodesOrWithABadUrlSaysSo) {
  CliRun run = Owsync({"status"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(HasLine(run.out, "Primary: ❌ Not running (no heartbeat recorded)")) << run.out;
  EXPECT_TRUE(HasLine(run.out, "Secondary: ❌ Not running (no heartbeat recorded)")) << run.out;
  EXPECT_TRUE(HasLine(run.out, "Last Sync: never")) << run.out;
  EXPECT_TRUE(HasLine(run.out, "Tenants: 0")) << run.out;
  CliRun bad = RunCli({"status"}, env_->fs(), clock_, &cli_log_,
                      {{"DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none"}});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("cannot connect to PostgreSQL"), std::string::npos) << bad.err;
}

TEST_F(StatusTriggerTest, TriggerWaitThroughTheFollowerShipsAnHourlyTenantNow) {
  ASSERT_NO_FATAL_FAILURE(ProvisionTenant());
  const uint64_t first = Write(1, 4);
  ASSERT_NO_FATAL_FAILURE(StartPair(/*interval_micros=*/3'600'000'000LL));
  ASSERT_TRUE(WaitFor([&] { return Acked() == std::to_string(first); })) << Acked();
  const uint64_t target = Write(4, 54);
  ASSERT_TRUE(WaitFor([&] { return !secondary_->node->Snapshot().lease.leader_id.empty(); }));
  CliRun run =
      Owsync({"trigger", client_, "--wait", "--timeout", "30", "--api", secondary_->base()});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const std::string leader_address = "127.0.0.1:" + std::to_string(primary_->services->api_port());
  EXPECT_NE(run.out.find(secondary_->base() + " is the follower; sending to the leader at " +
                         leader_address),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find(": started for tenant " + client_), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(": success (50 rows"), std::string::npos) << run.out;
  EXPECT_GE(std::stoull(Acked()), target);
  EXPECT_EQ(AdminValue("SELECT count(*) FROM \"" + client_ + "\".t", {}), "53");
  EXPECT_EQ(AdminValue("SELECT status || ' ' || sync_type || ' ' || triggered_by FROM "
                       "sync_metadata.sync_jobs WHERE client_name = $1",
                       {client_}),
            "success manual api");
}

// The leader's address comes from PostgreSQL: the bearer token only goes there when it is this
// machine or a peer the operator listed (API_PEERS).
TEST_F(StatusTriggerTest, TriggerSendsTheTokenOnlyToLoopbackOrConfiguredPeers) {
  httplib::Server follower;
  std::atomic<int> asked{0};
  follower.Post(R"(/api/v1/sync/trigger/(.+))", [&](const httplib::Request&, httplib::Response& r) {
    ++asked;
    r.status = 409;
    r.set_content(R"({"error":"not the leader","leader_address":"http://203.0.113.7:9443"})",
                  "application/json");
  });
  const int port = follower.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serve([&] { follower.listen_after_bind(); });
  CliRun run = Owsync({"trigger", client_, "--api", "http://127.0.0.1:" + std::to_string(port)});
  follower.stop();
  serve.join();
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(asked.load(), 1);
  EXPECT_NE(run.err.find("203.0.113.7:9443, which is neither this machine nor listed in "
                         "API_PEERS: the bearer token is not sent there"),
            std::string::npos)
      << run.out << run.err;
}

TEST_F(StatusTriggerTest, TriggerExplainsRefusals) {
  ASSERT_NO_FATAL_FAILURE(ProvisionTenant());
  ASSERT_NO_FATAL_FAILURE(StartPair());
  // Wrong token.
  const std::string wrong = dir_->Child("wrong-token");
  ASSERT_TRUE(WriteFileAtomically(env_->fs(), wrong, "nope\n").ok());
  CliRun run = Owsync({"trigger", client_, "--api", primary_->base()}, {{"API_TOKEN_FILE", wrong}});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("refused the token (401"), std::string::npos) << run.err;
  // Unknown tenant.
  run = Owsync({"trigger", "nosuchtenant", "--api", primary_->base()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("no tenant 'nosuchtenant'"), std::string::npos) << run.err;
  // Nothing listening.
  const int port = primary_->services->api_port();
  primary_->Stop();
  run = Owsync({"trigger", client_, "--api", "http://127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("cannot reach the owsync API at http://127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << run.err;
  // Without --wait the job id is printed and the command returns at once.
  ASSERT_TRUE(WaitFor([&] { return secondary_->node->Snapshot().is_leader; }));
  run = Owsync({"trigger", client_},
               {{"API_PORT", std::to_string(secondary_->services->api_port())}});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find(": started for tenant " + client_ + " on " +
                         secondary_->node->Snapshot().node_id),
            std::string::npos)
      << run.out;
}

}  // namespace
}  // namespace owsync::tests
