// NodeServicesTest: the fixture of the HA pair's API tests (shipper/api_server_pg_test.cc,
// tests/status_trigger_pg_test.cc): a test database with one registered host, a provisioned
// tenant (table t(id, v)) and its outbox, and in-process `owsync ship` nodes (ShipNode::Run on
// a thread with its NodeServices: API on a free port with a bearer token file, heartbeat, job
// tracker), plus an HTTP client and administrator queries.
#ifndef OWSYNC_SHIPPER_NODE_TEST_FIXTURE_H_
#define OWSYNC_SHIPPER_NODE_TEST_FIXTURE_H_

#include <gtest/gtest.h>
#include <httplib.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "outbox/outbox_writer.h"
#include "shipper/node_services.h"
#include "shipper/ship_node.h"
#include "shipper/tenant_provisioner.h"
#include "tests/pg_test_env.h"
#include "util/scoped_temp_dir.h"

namespace owsync::shipper {

inline constexpr char kTestApiToken[] = "s3cret-token-for-tests";

// One `owsync ship` node in-process: ShipNode::Run on a thread, and its services.
struct InProcessNode {
  std::unique_ptr<ShipNode> node;
  std::unique_ptr<NodeServices> services;
  std::thread thread;
  Status result;

  std::string base() const { return "http://127.0.0.1:" + std::to_string(services->api_port()); }
  void Stop() {
    if (node) node->RequestStop();
    if (thread.joinable()) thread.join();
    if (services) services->Stop();
  }
  ~InProcessNode() { Stop(); }
};

struct HttpReply {
  int status = 0;
  nlohmann::json body;
};

class NodeServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = tests::PgTestEnv::Get();
    ASSERT_NE(env_, nullptr);
    clock_ = env_->clock();
    auto db = env_->CreateDatabase("node");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    auto host = env_->AddHost(db_, "api-host");
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    host_ = *host;
    client_ = env_->UniqueName("apic");
    auto dir = ScopedTempDir::Create("owsync-api-");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(*dir));
    token_file_ = dir_->Child("token");
    ASSERT_TRUE(
        WriteFileAtomically(env_->fs(), token_file_, std::string(kTestApiToken) + "\n").ok());
    auto admin = env_->ConnectAdmin(db_.admin_url);
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    admin_.emplace(std::move(admin).value());
  }
  void TearDown() override {
    for (auto& n : nodes_) n->Stop();
    nodes_.clear();
  }

  std::string outbox_root() const { return dir_->Child("outbox"); }

  // Provisions the tenant (table t(id, v)) and opens its outbox with the schema record.
  void ProvisionTenant() {
    columns_ = {outbox::Column{"id", "INTEGER", 1, true}, outbox::Column{"v", "TEXT", 0, false}};
    TenantProvisioner provisioner(clock_, env_->logger());
    ProvisionRequest request;
    request.client = client_;
    request.host = host_.name;
    request.tables = {ProvisionTable{"t", columns_}};
    auto report = provisioner.Provision(&*admin_, request);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    auto writer = outbox::OutboxWriter::Open(env_->fs(), clock_, outbox_root() + "/" + client_, {});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    writer_ = std::move(*writer);
    outbox::Record schema;
    schema.type = outbox::RecordType::kSchema;
    schema.table = "t";
    schema.columns = columns_;
    ASSERT_TRUE(writer_->Append(&schema).ok());
    ASSERT_TRUE(writer_->Commit().ok());
  }
  // Appends upserts of ids [from, to) and makes them durable; returns the durable offset.
  uint64_t Write(int64_t from, int64_t to) {
    for (int64_t id = from; id < to; ++id) {
      outbox::Record r;
      r.type = outbox::RecordType::kUpsert;
      r.table = "t";
      r.key = {outbox::Value::Integer(id)};
      r.row = {outbox::Value::Integer(id), outbox::Value::Text("v" + std::to_string(id))};
      EXPECT_TRUE(writer_->Append(&r).ok());
    }
    EXPECT_TRUE(writer_->Commit().ok());
    return writer_->durable_offset();
  }

  ShipConfig Config(const std::string& role, bool with_token) {
    ShipConfig c;
    c.database_url = db_url_override_.empty() ? host_.url : db_url_override_;
    c.host_name = host_.name;
    c.cluster_name = host_.cluster;
    c.role = role;
    c.api_bind = "127.0.0.1";
    c.api_port = 0;
    c.api_token_file = with_token ? token_file_ : "";
    c.lease_micros = 2'000'000;
    c.heartbeat_micros = 1'000'000;
    return c;
  }
  // Starts a node; `interval_micros` is the tenants' sync interval (0 = continuous).
  InProcessNode* StartNode(const std::string& role, bool with_token = true,
                           int64_t interval_micros = 0) {
    const ShipConfig c = Config(role, with_token);
    ShipNodeOptions o;
    o.role = role;
    o.url = c.database_url;
    o.lease.cluster = c.cluster_name;
    o.lease.node_id = Lease::MakeNodeId(c.host_name, role);
    o.lease.lease_micros = c.lease_micros;
    o.lease.retry_micros = 100'000;
    o.runner.outbox_root = outbox_root();
    o.runner.tenant.url = c.database_url;
    o.runner.tenant.cluster = c.cluster_name;
    o.runner.tenant.sync_interval_micros = interval_micros;
    o.runner.rescan_micros = 200'000;
    auto n = std::make_unique<InProcessNode>();
    n->node = std::make_unique<ShipNode>(env_->fs(), clock_, &log_, o);
    n->services =
        std::make_unique<NodeServices>(env_->fs(), clock_, &log_, c, outbox_root(), n->node.get());
    Status st = n->services->Start();
    EXPECT_TRUE(st.ok()) << st.ToString();
    InProcessNode* raw = n.get();
    n->thread = std::thread([raw] { raw->result = raw->node->Run(); });
    nodes_.push_back(std::move(n));
    return raw;
  }
  bool WaitFor(const std::function<bool()>& done, int64_t micros = 15'000'000) {
    const int64_t until = clock_->MonotonicMicros() + micros;
    while (clock_->MonotonicMicros() < until) {
      if (done()) return true;
      clock_->SleepForMicros(50'000);
    }
    return done();
  }
  static HttpReply Call(const InProcessNode* n, const std::string& method, const std::string& path,
                        const std::string& token = kTestApiToken) {
    httplib::Client http(n->base());
    http.set_connection_timeout(5, 0);
    http.set_read_timeout(15, 0);
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    auto res = method == "POST" ? http.Post(path.c_str(), headers, "", "application/nlohmann::json")
                                : http.Get(path.c_str(), headers);
    HttpReply r;
    if (!res) return r;
    r.status = res->status;
    r.body = nlohmann::json::parse(res->body, nullptr, false);
    return r;
  }
  std::string AdminValue(const std::string& sql, const std::vector<std::optional<std::string>>& p) {
    auto res = admin_->ExecParams(sql, p, Deadline::After(clock_, 10'000'000));
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    if (!res.ok() || res->rows() == 0) return "<none>";
    return res->IsNull(0, 0) ? "<null>" : std::string(res->GetValue(0, 0));
  }
  std::string Acked() {
    return AdminValue(
        "SELECT acked_offset FROM sync_metadata.tenant_offsets WHERE client_name = $1", {client_});
  }
  // Starts the primary, waits until it leads, then the secondary.
  void StartPair(int64_t interval_micros = 0) {
    primary_ = StartNode("primary", true, interval_micros);
    ASSERT_TRUE(WaitFor([&] { return primary_->node->Snapshot().is_leader; }));
    secondary_ = StartNode("secondary", true, interval_micros);
    ASSERT_TRUE(WaitFor([&] { return secondary_->node->Snapshot().postgres_reachable; }));
  }

  tests::PgTestEnv* env_ = nullptr;
  Clock* clock_ = nullptr;
  tests::TestDatabase db_;
  tests::TestHost host_;
  std::string client_;
  std::optional<ScopedTempDir> dir_;
  std::string token_file_;
  std::string db_url_override_;
  std::optional<PgConnection> admin_;
  std::vector<outbox::Column> columns_;
  std::unique_ptr<outbox::OutboxWriter> writer_;
  CapturingLogger log_;
  std::vector<std::unique_ptr<InProcessNode>> nodes_;
  InProcessNode* primary_ = nullptr;
  InProcessNode* secondary_ = nullptr;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_NODE_TEST_FIXTURE_H_
