// The HA pair's HTTP API against a real PostgreSQL, in-process: two ShipNodes (primary and
// secondary) of one host, each with its NodeServices (API on a free port, heartbeat, job
// tracker), a provisioned tenant and its outbox. Health as leader and follower, 503 when
// PostgreSQL cannot be reached, tokens (401 logged, 403 without a token file), trigger on the
// leader (a sync_jobs row that turns success once shipped) and on the follower (409 with the
// leader's address), the heartbeat rows and the cluster status.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shipper/api_server.h"
#include "shipper/node_test_fixture.h"
#include "shipper/pg_url.h"

namespace owsync::shipper {
namespace {

using nlohmann::json;

class ApiServerTest : public NodeServicesTest {};

TEST_F(ApiServerTest, HealthIs200OnTheLeaderAndOnTheFollowerAndNamesTheLeader) {
  ASSERT_NO_FATAL_FAILURE(StartPair());
  const std::string leader_id = primary_->node->Snapshot().node_id;
  HttpReply p = Call(primary_, "GET", "/health", "");
  ASSERT_EQ(p.status, 200) << p.body.dump();
  EXPECT_EQ(p.body["status"], "ok");
  EXPECT_EQ(p.body["role"], "primary");
  EXPECT_EQ(p.body["is_leader"], true);
  EXPECT_EQ(p.body["node_id"], leader_id);
  EXPECT_EQ(p.body["leader_id"], leader_id);
  EXPECT_GT(p.body["epoch"].get<int64_t>(), 0);
  EXPECT_TRUE(p.body["lease_expires_at"].is_string());
  EXPECT_TRUE(p.body["uptime_seconds"].is_number());
  EXPECT_TRUE(p.body.contains("last_sync"));

  ASSERT_TRUE(WaitFor([&] { return !secondary_->node->Snapshot().lease.leader_id.empty(); }));
  HttpReply s = Call(secondary_, "GET", "/health", "");
  ASSERT_EQ(s.status, 200) << s.body.dump();
  EXPECT_EQ(s.body["role"], "secondary");
  EXPECT_EQ(s.body["is_leader"], false);
  EXPECT_EQ(s.body["leader_id"], leader_id);
  EXPECT_EQ(s.body["epoch"], p.body["epoch"]);
  EXPECT_NE(s.body["node_id"], leader_id);
}

TEST_F(ApiServerTest, HealthIs503WhenPostgresCannotBeReached) {
  // A port nothing listens on: bind one (without listening), note it, close it.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  close(fd);
  auto url = PgUrl::Parse(host_.url);
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  db_url_override_ = url->With("host", "127.0.0.1").With("port", std::to_string(port)).ToString();
  InProcessNode* n = StartNode("primary");
  clock_->SleepForMicros(500'000);  // a few lease attempts fail
  HttpReply r = Call(n, "GET", "/health", "");
  EXPECT_EQ(r.status, 503) << r.body.dump();
  EXPECT_EQ(r.body["status"], "unavailable");
  EXPECT_EQ(r.body["postgres_reachable"], false);
  EXPECT_EQ(r.body["is_leader"], false);
  // The cluster status needs PostgreSQL too.
  EXPECT_EQ(Call(n, "GET", "/api/v1/cluster/status", "").status, 503);
}

TEST_F(ApiServerTest, MissingOrWrongTokenIs401AndLoggedWithoutTheToken) {
  ASSERT_NO_FATAL_FAILURE(ProvisionTenant());
  ASSERT_NO_FATAL_FAILURE(StartPair());
  const std::string path = "/api/v1/sync/trigger/" + client_;
  HttpReply none = Call(primary_, "POST", path, "");
  EXPECT_EQ(none.status, 401) << none.body.dump();
  EXPECT_TRUE(none.body["error"].is_string());
  HttpReply wrong = Call(primary_, "POST", path, "not-the-token");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_TRUE(log_.Contains("api: unauthorized POST " + path + " from 127.0.0.1:"));
  EXPECT_TRUE(log_.Contains("no bearer token"));
  EXPECT_TRUE(log_.Contains("wrong bearer token"));
  for (const std::string& line : log_.Lines()) {
    EXPECT_EQ(line.find("not-the-token"), std::string::npos) << line;
    EXPECT_EQ(line.find(kTestApiToken), std::string::npos) << line;
  }
  EXPECT_EQ(AdminValue("SELECT count(*) FROM sync_metadata.sync_jobs", {}), "0");
  // Reads need no token.
  EXPECT_EQ(Call(primary_, "GET", "/api/v1/cluster/status", "").status, 200);
}

TEST_F(ApiServerTest, WithoutATokenFileMutatingCallsAre403) {
  InProcessNode* n = StartNode("primary", /*with_token=*/false);
  ASSERT_TRUE(WaitFor([&] { return n->node->Snapshot().is_leader; }));
  HttpReply r = Call(n, "POST", "/api/v1/sync/trigger/anyone", "whatever");
  EXPECT_EQ(r.status, 403) << r.body.dump();
  EXPECT_NE(r.body["error"].get<std::string>().find("API_TOKEN_FILE"), std::string::npos);
  EXPECT_TRUE(log_.Contains("api: refused POST /api/v1/sync/trigger/anyone from 127.0.0.1:"));
}

TEST_F(ApiServerTest, TriggerOnTheLeaderShipsNowAndTheJobTurnsSuccess) {
  ASSERT_NO_FATAL_FAILURE(ProvisionTenant());
  const uint64_t first = Write(1, 11);
  // An hourly tenant: after its first pass it waits, so only the trigger ships what follows.
  ASSERT_NO_FATAL_FAILURE(StartPair(/*interval_micros=*/3'600'000'000LL));
  ASSERT_TRUE(WaitFor([&] { return Acked() == std::to_string(first); })) << Acked();
  const uint64_t target = Write(11, 31);
  clock_->SleepForMicros(1'000'000);
  EXPECT_EQ(Acked(), std::to_string(first)) << "an hourly tenant shipped without a trigger";

  HttpReply r = Call(primary_, "POST", "/api/v1/sync/trigger/" + client_);
  ASSERT_EQ(r.status, 202) << r.body.dump();
  EXPECT_EQ(r.body["client"], client_);
  EXPECT_EQ(r.body["status"], "running");
  const std::string job = r.body["job_id"].get<std::string>();
  HttpReply j;
  ASSERT_TRUE(WaitFor([&] {
    j = Call(primary_, "GET", "/api/v1/sync/jobs/" + job, "");
    return j.status == 200 && j.body["status"] != "running";
  })) << j.body.dump();
  EXPECT_EQ(j.body["status"], "success") << j.body.dump();
  EXPECT_EQ(j.body["sync_type"], "manual");
  EXPECT_EQ(j.body["triggered_by"], "api");
  EXPECT_EQ(j.body["client"], client_);
  EXPECT_TRUE(j.body["completed_at"].is_string());
  EXPECT_EQ(j.body["rows_synced"], 20);
  EXPECT_EQ(j.body["metadata"]["target_offset"], target);
  EXPECT_GE(std::stoull(Acked()), target);
  EXPECT_EQ(AdminValue("SELECT count(*) FROM \"" + client_ + "\".t", {}), "30");
  // The follower reads the same job row.
  HttpReply f = Call(secondary_, "GET", "/api/v1/sync/jobs/" + job, "");
  EXPECT_EQ(f.status, 200);
  EXPECT_EQ(f.body["status"], "success");
  // Nothing new: a trigger succeeds at once.
  HttpReply again = Call(primary_, "POST", "/api/v1/sync/trigger/" + client_);
  ASSERT_EQ(again.status, 202);
  ASSERT_TRUE(WaitFor([&] {
    j = Call(primary_, "GET", "/api/v1/sync/jobs/" + again.body["job_id"].get<std::string>(), "");
    return j.body["status"] == "success";
  })) << j.body.dump();
  EXPECT_EQ(j.body["rows_synced"], 0);
}

TEST_F(ApiServerTest, TriggerOnTheFollowerIs409WithTheLeadersAddress) {
  ASSERT_NO_FATAL_FAILURE(ProvisionTenant());
  ASSERT_NO_FATAL_FAILURE(StartPair());
  ASSERT_TRUE(WaitFor([&] { return !secondary_->node->Snapshot().lease.leader_id.empty(); }));
  HttpReply r = Call(secondary_, "POST", "/api/v1/sync/trigger/" + client_);
  ASSERT_EQ(r.status, 409) << r.body.dump();
  EXPECT_EQ(r.body["leader_id"], primary_->node->Snapshot().node_id);
  EXPECT_EQ(r.body["leader_address"],
            "127.0.0.1:" + std::to_string(primary_->services->api_port()));
  EXPECT_EQ(AdminValue("SELECT count(*) FROM sync_metadata.sync_jobs", {}), "0");
}

TEST_F(ApiServerTest, UnknownTenantIs404AndBadJobIdsAre400Or404) {
  ASSERT_NO_FATAL_FAILURE(ProvisionTenant());
  ASSERT_NO_FATAL_FAILURE(StartPair());
  EXPECT_EQ(Call(primary_, "POST", "/api/v1/sync/trigger/nosuchtenant").status, 404);
  EXPECT_EQ(Call(primary_, "POST", "/api/v1/sync/trigger/bad%20name").status, 400);
  EXPECT_EQ(Call(primary_, "POST", "/api/v1/sync/trigger/..%2F..%2Fetc").status, 404);
  EXPECT_EQ(Call(primary_, "GET", "/api/v1/sync/jobs/not-a-uuid", "").status, 400);
  EXPECT_EQ(
      Call(primary_, "GET", "/api/v1/sync/jobs/00000000-0000-4000-8000-000000000000", "").status,
      404);
  EXPECT_EQ(Call(primary_, "GET", "/api/v1/nothing", "").status, 404);
}

TEST_F(ApiServerTest, HeartbeatsShowBothNodesAndAPlannedStopMarksTheRowStopped) {
  ASSERT_NO_FATAL_FAILURE(ProvisionTenant());
  Write(1, 4);
  ASSERT_NO_FATAL_FAILURE(StartPair());
  const std::string primary_id = primary_->node->Snapshot().node_id;
  HttpReply st;
  ASSERT_TRUE(WaitFor([&] {
    st = Call(secondary_, "GET", "/api/v1/cluster/status", "");
    return st.status == 200 && st.body["nodes"][1]["state"] == "running" &&
           st.body["nodes"][0]["leadership"] == "leader" && st.body["tenants"].size() == 1 &&
           st.body["tenants"][0]["backlog"] == 0;
  })) << st.body.dump(2);
  EXPECT_EQ(st.body["cluster"], host_.cluster);
  EXPECT_EQ(st.body["lease"]["leader_id"], primary_id);
  EXPECT_EQ(st.body["nodes"][0]["role"], "primary");
  EXPECT_EQ(st.body["nodes"][0]["node_id"], primary_id);
  EXPECT_EQ(st.body["nodes"][0]["state"], "running");
  EXPECT_EQ(st.body["nodes"][1]["leadership"], "standby");
  EXPECT_EQ(st.body["nodes"][1]["api_address"],
            "127.0.0.1:" + std::to_string(secondary_->services->api_port()));
  EXPECT_EQ(st.body["tenants"][0]["client"], client_);
  EXPECT_EQ(st.body["tenants"][0]["acked_offset"], st.body["tenants"][0]["durable_offset"]);
  EXPECT_EQ(st.body["tenants"][0]["lag_seconds"], 0.0);
  EXPECT_EQ(st.body["answered_by"]["role"], "secondary");
  EXPECT_EQ(AdminValue("SELECT details->'tenants'->0->>'client' FROM sync_metadata.cluster_nodes "
                       "WHERE cluster_name = $1 AND node_role = 'primary'",
                       {host_.cluster}),
            client_);

  // Planned stop of the leader: its row says stopped, the secondary takes over.
  primary_->Stop();
  EXPECT_EQ(AdminValue("SELECT status || ' ' || is_leader FROM sync_metadata.cluster_nodes "
                       "WHERE cluster_name = $1 AND node_role = 'primary'",
                       {host_.cluster}),
            "stopped false");
  ASSERT_TRUE(WaitFor([&] {
    st = Call(secondary_, "GET", "/api/v1/cluster/status", "");
    return st.status == 200 && st.body["nodes"][1]["leadership"] == "leader" &&
           st.body["nodes"][1]["state"] == "running";
  })) << st.body.dump(2);
  EXPECT_EQ(st.body["nodes"][0]["state"], "stopped");
}

TEST_F(ApiServerTest, TriggerOnAStoppedTenantRestartsItAndTheJobFailsWithItsError) {
  ASSERT_NO_FATAL_FAILURE(ProvisionTenant());
  // A table PostgreSQL was never provisioned for: the tenant stops (not retryable).
  outbox::Record schema;
  schema.type = outbox::RecordType::kSchema;
  schema.table = "ghost";
  schema.columns = columns_;
  ASSERT_TRUE(writer_->Append(&schema).ok());
  outbox::Record row;
  row.type = outbox::RecordType::kUpsert;
  row.table = "ghost";
  row.key = {outbox::Value::Integer(1)};
  row.row = {outbox::Value::Integer(1), outbox::Value::Text("boo")};
  ASSERT_TRUE(writer_->Append(&row).ok());
  ASSERT_TRUE(writer_->Commit().ok());
  ASSERT_NO_FATAL_FAILURE(StartPair());
  TenantReport stopped;
  ASSERT_TRUE(WaitFor([&] {
    for (const TenantReport& r : primary_->node->Report()) {
      if (r.client == client_ && !r.running && !r.stopped_error.empty()) stopped = r;
    }
    return !stopped.client.empty();
  }));
  const int64_t started = clock_->MonotonicMicros();
  HttpReply r = Call(primary_, "POST", "/api/v1/sync/trigger/" + client_);
  ASSERT_EQ(r.status, 202) << r.body.dump();
  HttpReply j;
  ASSERT_TRUE(WaitFor([&] {
    j = Call(primary_, "GET", "/api/v1/sync/jobs/" + r.body["job_id"].get<std::string>(), "");
    return j.status == 200 && j.body["status"] != "running";
  })) << j.body.dump();
  EXPECT_EQ(j.body["status"], "failed");
  const std::string error = j.body["error_message"].get<std::string>();
  EXPECT_NE(error.find("stopped at offset"), std::string::npos) << error;
  EXPECT_NE(error.find("ghost"), std::string::npos) << error;
  // The trigger restarted it at once, not after the runner's 30 s pause.
  int64_t starts = 0;
  for (const TenantReport& t : primary_->node->Report()) {
    if (t.client == client_) starts = t.starts;
  }
  EXPECT_GT(starts, stopped.starts);
  EXPECT_LT(clock_->MonotonicMicros() - started, 20'000'000);
}

}  // namespace
}  // namespace owsync::shipper
