// ShipNode in-process against a real PostgreSQL: two nodes over one outbox root; one leads and
// ships, the other follows; a planned stop hands over at once; a node whose lease is taken stops
// shipping, follows, and claims the tenant again when it leads again. (The same with real
// processes, kills and freezes: tests/failover_pg_test.cc.)
#include <gtest/gtest.h>

#include <list>
#include <thread>

#include "outbox/outbox_writer.h"
#include "shipper/ship_node.h"
#include "shipper/tenant_provisioner.h"
#include "tests/pg_test_env.h"
#include "util/scoped_temp_dir.h"

namespace owsync::shipper {
namespace {

using outbox::Column;
using outbox::Record;
using outbox::RecordType;
using outbox::Value;

class ShipNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = tests::PgTestEnv::Get();
    clock_ = env_->clock();
    auto db = env_->CreateDatabase("node");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    auto host = env_->AddHost(db_, "h");
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    host_ = *host;
    client_ = env_->UniqueName("c");
    auto dir = ScopedTempDir::Create("owsync-node-");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(*dir));
    const std::vector<Column> columns = {Column{"id", "INTEGER", 1, true}};
    auto admin = env_->ConnectAdmin(db_.admin_url);
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    admin_.emplace(std::move(*admin));
    TenantProvisioner provisioner(clock_, env_->logger());
    ProvisionRequest request;
    request.client = client_;
    request.host = host_.name;
    request.tables = {ProvisionTable{"t", columns}};
    auto report = provisioner.Provision(&*admin_, request);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    auto writer = outbox::OutboxWriter::Open(env_->fs(), clock_, root() + "/" + client_, {});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    writer_ = std::move(*writer);
    Record schema;
    schema.type = RecordType::kSchema;
    schema.table = "t";
    schema.columns = columns;
    ASSERT_TRUE(writer_->Append(&schema).ok());
    ASSERT_TRUE(writer_->Commit().ok());
  }
  void TearDown() override {
    for (auto& n : nodes_) n.node->RequestStop();
    for (auto& n : nodes_) {
      if (n.thread.joinable()) n.thread.join();
    }
  }

  std::string root() const { return dir_->Child("outbox"); }
  struct Running {
    std::unique_ptr<ShipNode> node;
    std::thread thread;
    Status result;
  };
  // Starts a node (its Run() on a thread of its own); lease `lease_micros`, lock fast path on.
  Running* Start(const std::string& role, int64_t lease_micros = 10'000'000) {
    ShipNodeOptions o;
    o.role = role;
    o.lease.cluster = host_.cluster;
    o.lease.node_id = Lease::MakeNodeId(host_.name, role);
    o.lease.lease_micros = lease_micros;
    o.lease.retry_micros = 100'000;
    o.url = host_.url;
    o.lock_url = host_.url;
    o.runner.outbox_root = root();
    o.runner.rescan_micros = 200'000;
    o.runner.tenant.url = host_.url;
    o.runner.tenant.cluster = host_.cluster;
    o.runner.tenant.ack_file_interval_micros = 0;
    nodes_.emplace_back();
    Running* r = &nodes_.back();
    r->node = std::make_unique<ShipNode>(env_->fs(), clock_, &log_, o);
    r->thread = std::thread([r] { r->result = r->node->Run(); });
    return r;
  }
  // Waits up to `micros` for `pred`; its last value.
  template <typename Pred>
  bool WaitFor(Pred pred, int64_t micros) {
    const int64_t until = clock_->MonotonicMicros() + micros;
    while (!pred()) {
      if (clock_->MonotonicMicros() >= until) return false;
      clock_->SleepForMicros(20'000);
    }
    return true;
  }
  void Append(int64_t from, int64_t to) {
    for (int64_t id = from; id < to; ++id) {
      Record r;
      r.type = RecordType::kUpsert;
      r.table = "t";
      r.key = {Value::Integer(id)};
      r.row = {Value::Integer(id)};
      ASSERT_TRUE(writer_->Append(&r).ok());
    }
    ASSERT_TRUE(writer_->Commit().ok());
  }
  std::string Scalar(const std::string& sql) {
    auto res = admin_->Exec(sql, Deadline::After(clock_, 30'000'000));
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() && res->rows() > 0 ? std::string(res->GetValue(0, 0)) : "";
  }
  std::string Offsets(const std::string& column) {
    return Scalar("SELECT " + column + " FROM sync_metadata.tenant_offsets WHERE client_name = '" +
                  client_ + "'");
  }
  bool Acked() { return Offsets("acked_offset") == std::to_string(writer_->durable_offset()); }

  tests::PgTestEnv* env_ = nullptr;
  Clock* clock_ = nullptr;
  tests::TestDatabase db_;
  tests::TestHost host_;
  std::string client_;
  std::optional<ScopedTempDir> dir_;
  std::optional<PgConnection> admin_;
  std::unique_ptr<outbox::OutboxWriter> writer_;
  std::list<Running> nodes_;
  CapturingLogger log_;
};

TEST_F(ShipNodeTest, OneNodeLeadsAndShipsTheOtherFollowsAndAPlannedStopHandsOverAtOnce) {
  Running* a = Start("primary");
  ASSERT_TRUE(WaitFor([&] { return a->node->Snapshot().is_leader; }, 10'000'000));
  Running* b = Start("secondary");
  Append(0, 100);
  ASSERT_TRUE(WaitFor([&] { return Acked(); }, 20'000'000));
  EXPECT_FALSE(b->node->Snapshot().is_leader);
  EXPECT_TRUE(b->node->Report().empty()) << "a follower ships nothing";
  // b campaigns once it checked its lock URL: it then sees a lead.
  ASSERT_TRUE(WaitFor([&] { return !b->node->Snapshot().lease.leader_id.empty(); }, 10'000'000));
  EXPECT_EQ(b->node->Snapshot().lease.leader_id, a->node->Snapshot().node_id);
  EXPECT_EQ(Offsets("acked_epoch"), std::to_string(a->node->Snapshot().epoch));

  const int64_t t0 = clock_->MonotonicMicros();
  a->node->RequestStop();
  a->thread.join();
  EXPECT_TRUE(a->result.ok()) << a->result.ToString();
  ASSERT_TRUE(WaitFor([&] { return b->node->Snapshot().is_leader; }, 3'000'000))
      << "a planned stop must not cost the 10 s lease";
  EXPECT_LT(clock_->MonotonicMicros() - t0, 3'000'000);
  Append(100, 200);
  ASSERT_TRUE(WaitFor([&] { return Acked(); }, 20'000'000));
  EXPECT_EQ(Offsets("acked_epoch"), std::to_string(b->node->Snapshot().epoch));
  EXPECT_EQ(Scalar("SELECT count(*) FROM \"" + client_ + "\".t"), "200");
}

TEST_F(ShipNodeTest, ANodeWhoseLeaseIsTakenStopsShippingThenClaimsAgainWhenItLeadsAgain) {
  Running* a = Start("primary", 1'000'000);
  ASSERT_TRUE(WaitFor([&] { return a->node->Snapshot().is_leader; }, 10'000'000));
  Append(0, 10);
  ASSERT_TRUE(WaitFor([&] { return Acked(); }, 20'000'000));
  const int64_t first = a->node->Snapshot().epoch;
  // Somebody else takes the lease for a minute (as the administrator, past row security).
  Scalar(
      "UPDATE sync_metadata.leader_election SET leader_id = 'intruder', lock_pid = NULL, epoch = "
      "nextval('sync_metadata.leader_epoch_seq'), lease_expires_at = now() + interval '1 minute' "
      "RETURNING epoch");
  ASSERT_TRUE(WaitFor([&] { return !a->node->Snapshot().is_leader; }, 3'000'000));
  EXPECT_TRUE(WaitFor([&] { return a->node->Report().empty(); }, 3'000'000));
  Append(10, 20);
  clock_->SleepForMicros(1'000'000);
  EXPECT_FALSE(Acked()) << "a node that does not lead ships nothing";
  Scalar("UPDATE sync_metadata.leader_election SET lease_expires_at = now() RETURNING 1");
  ASSERT_TRUE(WaitFor([&] { return a->node->Snapshot().is_leader; }, 5'000'000));
  EXPECT_GT(a->node->Snapshot().epoch, first);
  ASSERT_TRUE(WaitFor([&] { return Acked(); }, 20'000'000));
  EXPECT_EQ(Offsets("acked_epoch"), std::to_string(a->node->Snapshot().epoch));
  EXPECT_TRUE(log_.Contains("no longer leads cluster"));
}

}  // namespace
}  // namespace owsync::shipper
