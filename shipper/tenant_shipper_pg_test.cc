// TenantShipper in-process against a real PostgreSQL: the reader and writer threads under a
// concurrent outbox writer, back-pressure with a tiny queue, fencing, and retention's ACKED.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "outbox/acked_file.h"
#include "outbox/outbox_writer.h"
#include "shipper/lease.h"
#include "shipper/lease_epoch_source.h"
#include "shipper/tenant_provisioner.h"
#include "shipper/tenant_shipper.h"
#include "tests/pg_test_env.h"
#include "util/scoped_temp_dir.h"

namespace owsync::shipper {
namespace {

using outbox::Column;
using outbox::Record;
using outbox::RecordType;
using outbox::Value;

class TenantShipperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = tests::PgTestEnv::Get();
    auto db = env_->CreateDatabase("tship");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    auto host = env_->AddHost(db_, "h");
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    host_ = *host;
    client_ = env_->UniqueName("c");
    auto dir = ScopedTempDir::Create("owsync-tship-");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(*dir));
    columns_ = {Column{"id", "INTEGER", 1, true}, Column{"v", "TEXT", 0, false}};
    auto admin = env_->ConnectAdmin(db_.admin_url);
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    TenantProvisioner provisioner(env_->clock(), env_->logger());
    ProvisionRequest request;
    request.client = client_;
    request.host = host_.name;
    request.tables = {ProvisionTable{"t", columns_}};
    auto report = provisioner.Provision(&*admin, request);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    auto writer = outbox::OutboxWriter::Open(env_->fs(), env_->clock(), outbox_dir(), {});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    writer_ = std::move(*writer);
    Record schema;
    schema.type = RecordType::kSchema;
    schema.table = "t";
    schema.columns = columns_;
    ASSERT_TRUE(writer_->Append(&schema).ok());
    ASSERT_TRUE(writer_->Commit().ok());
    LeaseOptions lo;
    lo.cluster = host_.cluster;
    lo.node_id = Lease::MakeNodeId("test", "primary");
    lease_ = std::make_unique<Lease>(env_->clock(), env_->logger(), host_.url, lo);
    ASSERT_TRUE(lease_->AcquireAndKeep(Deadline::After(env_->clock(), 30'000'000)).ok());
    epochs_ = std::make_unique<LeaseEpochSource>(lease_.get());
  }
  void TearDown() override {
    if (lease_) (void)lease_->Release();
  }

  std::string outbox_dir() const { return dir_->Child("outbox"); }
  TenantShipperOptions Options() const {
    TenantShipperOptions o;
    o.client = client_;
    o.outbox_dir = outbox_dir();
    o.url = host_.url;
    o.cluster = host_.cluster;
    o.ack_file_interval_micros = 0;
    return o;
  }
  void AppendUpsert(int64_t id, const std::string& v) {
    Record r;
    r.type = RecordType::kUpsert;
    r.table = "t";
    r.key = {Value::Integer(id)};
    r.row = {Value::Integer(id), Value::Text(v)};
    ASSERT_TRUE(writer_->Append(&r).ok());
  }
  void AppendDelete(int64_t id) {
    Record r;
    r.type = RecordType::kDelete;
    r.table = "t";
    r.key = {Value::Integer(id)};
    ASSERT_TRUE(writer_->Append(&r).ok());
  }
  std::string Scalar(const std::string& sql) {
    auto conn = env_->ConnectAdmin(db_.admin_url);
    EXPECT_TRUE(conn.ok());
    auto res = conn->Exec(sql, Deadline::After(env_->clock(), 30'000'000));
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() && res->rows() > 0 ? std::string(res->GetValue(0, 0)) : "";
  }
  std::string Table() const { return "\"" + client_ + "\".t"; }

  tests::PgTestEnv* env_ = nullptr;
  tests::TestDatabase db_;
  tests::TestHost host_;
  std::string client_;
  std::optional<ScopedTempDir> dir_;
  std::vector<Column> columns_;
  std::unique_ptr<outbox::OutboxWriter> writer_;
  std::unique_ptr<Lease> lease_;
  std::unique_ptr<LeaseEpochSource> epochs_;
};

TEST_F(TenantShipperTest, ShipsWhatAConcurrentWriterAppendsThroughATinyQueue) {
  TenantShipperOptions o = Options();
  o.batch_rows = 50;
  o.queue_bytes = 16 << 10;  // back-pressure on the reader all the time
  TenantShipper shipper(env_->fs(), env_->clock(), env_->logger(), o, epochs_.get());
  Status result;
  std::thread runner([&] { result = shipper.Run(); });
  constexpr int kRows = 3000;
  for (int i = 0; i < kRows; ++i) {
    AppendUpsert(i, "v" + std::to_string(i));
    if (i % 3 == 0) AppendUpsert(i, "w" + std::to_string(i));  // a newer version
    if (i % 10 == 9) AppendDelete(i - 5);
    if (i % 97 == 0) {
      ASSERT_TRUE(writer_->Commit().ok());
    }
  }
  ASSERT_TRUE(writer_->Commit().ok());
  const uint64_t last = writer_->durable_offset();
  for (int i = 0; i < 600 && shipper.progress().acked_offset < last; ++i) {
    env_->clock()->SleepForMicros(100'000);
  }
  shipper.RequestStop();
  runner.join();
  ASSERT_TRUE(result.ok()) << result.ToString();
  EXPECT_EQ(shipper.progress().acked_offset, last);
  EXPECT_EQ(Scalar("SELECT count(*) FROM " + Table() + " WHERE _owsync_deleted_at IS NULL"),
            std::to_string(kRows - kRows / 10));
  EXPECT_EQ(Scalar("SELECT v FROM " + Table() + " WHERE id = 3"), "w3");
  EXPECT_EQ(Scalar("SELECT v FROM " + Table() + " WHERE id = 5"), "v5");
  EXPECT_EQ(Scalar("SELECT _owsync_deleted_at IS NOT NULL FROM " + Table() + " WHERE id = 4"),
            "t");  // deleted when i = 9
  EXPECT_EQ(Scalar("SELECT acked_offset FROM sync_metadata.tenant_offsets WHERE client_name = '" +
                   client_ + "'"),
            std::to_string(last));
  auto acked = outbox::AckedFile::Read(env_->fs(), outbox_dir());
  ASSERT_TRUE(acked.ok()) << acked.status().ToString();
  EXPECT_EQ(acked->acked_offset, last);
  EXPECT_EQ(acked->outbox_id, writer_->outbox_id());
}

TEST_F(TenantShipperTest, OnceStopsWhenEverythingDurableIsAcknowledged) {
  for (int i = 0; i < 100; ++i) AppendUpsert(i, "x");
  ASSERT_TRUE(writer_->Commit().ok());
  AppendUpsert(1000, "not durable yet");  // buffered, not committed: never shipped
  TenantShipperOptions o = Options();
  o.once = true;
  TenantShipper shipper(env_->fs(), env_->clock(), env_->logger(), o, epochs_.get());
  ASSERT_TRUE(shipper.Run().ok());
  EXPECT_EQ(shipper.progress().acked_offset, writer_->durable_offset());
  EXPECT_EQ(Scalar("SELECT count(*) FROM " + Table()), "100");
}

TEST_F(TenantShipperTest, ANewerEpochFencesTheShipperOff) {
  AppendUpsert(1, "a");
  ASSERT_TRUE(writer_->Commit().ok());
  Scalar("UPDATE sync_metadata.tenant_offsets SET acked_epoch = " +
         std::to_string(lease_->epoch() + 1000) + " WHERE client_name = '" + client_ +
         "' RETURNING 1");
  TenantShipperOptions o = Options();
  o.once = true;
  TenantShipper shipper(env_->fs(), env_->clock(), env_->logger(), o, epochs_.get());
  Status st = shipper.Run();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.ToString().find("fenced"), std::string::npos) << st.ToString();
  EXPECT_EQ(Scalar("SELECT count(*) FROM " + Table()), "0");
  EXPECT_EQ(Scalar("SELECT acked_offset FROM sync_metadata.tenant_offsets WHERE client_name = '" +
                   client_ + "'"),
            "0");
}

// An epoch source the test switches (a node that lost its lease and won it again).
class SwitchableEpochs : public EpochSource {
 public:
  explicit SwitchableEpochs(int64_t epoch) : epoch_(epoch) {}
  int64_t CurrentEpoch() const override { return epoch_.load(); }
  void Set(int64_t epoch) { epoch_.store(epoch); }

 private:
  std::atomic<int64_t> epoch_;
};

// A tenant ships with the epoch it claimed with: when the node's epoch changes under it, it
// ends its session and claims again before it ships another batch.
TEST_F(TenantShipperTest, ANewNodeEpochMeansClaimingAgainBeforeTheNextBatch) {
  SwitchableEpochs epochs(lease_->epoch());
  CapturingLogger log;
  TenantShipper shipper(env_->fs(), env_->clock(), &log, Options(), &epochs);
  Status result;
  std::thread runner([&] { result = shipper.Run(); });
  AppendUpsert(1, "a");
  ASSERT_TRUE(writer_->Commit().ok());
  for (int i = 0; i < 300 && shipper.progress().acked_offset < writer_->durable_offset(); ++i) {
    env_->clock()->SleepForMicros(50'000);
  }
  ASSERT_EQ(shipper.progress().acked_offset, writer_->durable_offset());
  // The node loses the lease and wins it again with a new epoch.
  ASSERT_TRUE(lease_->Release().ok());
  LeaseOptions lo;
  lo.cluster = host_.cluster;
  lo.node_id = Lease::MakeNodeId("test", "again");
  lease_ = std::make_unique<Lease>(env_->clock(), env_->logger(), host_.url, lo);
  ASSERT_TRUE(lease_->AcquireAndKeep(Deadline::After(env_->clock(), 30'000'000)).ok());
  const int64_t second = lease_->epoch();
  epochs.Set(second);
  AppendUpsert(2, "b");
  ASSERT_TRUE(writer_->Commit().ok());
  for (int i = 0; i < 300 && shipper.progress().acked_offset < writer_->durable_offset(); ++i) {
    env_->clock()->SleepForMicros(50'000);
  }
  shipper.RequestStop();
  runner.join();
  EXPECT_EQ(shipper.progress().acked_offset, writer_->durable_offset());
  EXPECT_TRUE(log.Contains("claiming again")) << "the batch went with an epoch never claimed";
  EXPECT_TRUE(log.Contains("(epoch " + std::to_string(second) + ")"));
  EXPECT_EQ(Scalar("SELECT acked_epoch FROM sync_metadata.tenant_offsets WHERE client_name = '" +
                   client_ + "'"),
            std::to_string(second));
}

TEST_F(TenantShipperTest, APerTenantIntervalHoldsShippingUntilTheNextTick) {
  for (int i = 0; i < 10; ++i) AppendUpsert(i, "backlog");
  ASSERT_TRUE(writer_->Commit().ok());
  const uint64_t backlog = writer_->durable_offset();
  Scalar(
      "UPDATE sync_metadata.client_deployments SET config = '{\"sync_interval\": \"hourly\"}' "
      "WHERE client_name = '" +
      client_ + "' RETURNING 1");
  TenantShipper shipper(env_->fs(), env_->clock(), env_->logger(), Options(), epochs_.get());
  Status result;
  std::thread runner([&] { result = shipper.Run(); });
  for (int i = 0; i < 300 && shipper.progress().acked_offset < backlog; ++i) {
    env_->clock()->SleepForMicros(100'000);
  }
  EXPECT_EQ(shipper.progress().acked_offset, backlog);  // what was there at start ships
  AppendUpsert(100, "after");
  ASSERT_TRUE(writer_->Commit().ok());
  env_->clock()->SleepForMicros(1'500'000);  // continuous shipping would take milliseconds
  EXPECT_EQ(shipper.progress().acked_offset, backlog) << "shipped before the next hourly tick";
  shipper.RequestStop();
  runner.join();
  EXPECT_TRUE(result.ok()) << result.ToString();
}

}  // namespace
}  // namespace owsync::shipper
