// TenantClaim against a real PostgreSQL: the epoch is raised before the offset is read, a
// newer epoch fences an older one, and a deposed leader's session that still holds the offset
// row is ended after the wait — while anybody else's is only waited for.
#include <gtest/gtest.h>

#include "shipper/lease.h"
#include "shipper/shipper_session_mark.h"
#include "shipper/tenant_claim.h"
#include "shipper/tenant_provisioner.h"
#include "tests/pg_test_env.h"

namespace owsync::shipper {
namespace {

class TenantClaimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = tests::PgTestEnv::Get();
    clock_ = env_->clock();
    auto db = env_->CreateDatabase("claim");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    auto host = env_->AddHost(db_, "h");
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    host_ = *host;
    client_ = env_->UniqueName("c");
    auto admin = env_->ConnectAdmin(db_.admin_url);
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    admin_.emplace(std::move(*admin));
    ASSERT_NO_FATAL_FAILURE(Provision(client_));
  }
  void Provision(const std::string& client) {
    TenantProvisioner provisioner(clock_, env_->logger());
    ProvisionRequest request;
    request.client = client;
    request.host = host_.name;
    request.tables = {ProvisionTable{"t", {outbox::Column{"id", "INTEGER", 1, true}}}};
    auto report = provisioner.Provision(&*admin_, request);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
  }

  // A lease of `lease_micros` (the deposed leader's is short, so that it expires quickly; the
  // claimer's long enough to outlast a slow sanitizer run: nothing renews it here).
  std::unique_ptr<Lease> LeaseOf(const std::string& name, int64_t lease_micros = 1'000'000) {
    LeaseOptions o;
    o.cluster = host_.cluster;
    o.node_id = Lease::MakeNodeId("test", name);
    o.lease_micros = lease_micros;
    auto lease = std::make_unique<Lease>(clock_, env_->logger(), host_.url, o);
    auto r = lease->TryAcquireOrRenew();
    EXPECT_TRUE(r.ok() && *r) << (r.ok() ? "not granted" : r.status().ToString());
    return lease;
  }
  PgConnection Connect(const std::string& application_name) {
    PgConnectOptions o;
    o.application_name = application_name;
    auto c = PgConnection::Connect(clock_, host_.url, Deadline::After(clock_, 10'000'000), o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return std::move(*c);
  }
  TenantClaim Claimer(int64_t terminate_wait_micros = 10'000'000) {
    TenantClaimOptions o;
    o.client = client_;
    o.cluster = host_.cluster;
    o.url = host_.url;
    o.wait_micros = 300'000;
    o.terminate_wait_micros = terminate_wait_micros;
    o.still_leader = [] { return true; };
    return TenantClaim(clock_, &log_, o);
  }
  // A session that claimed the tenant with `epoch` and stays in its transaction: a leader
  // frozen mid-batch (`as_shipper`: it carries the shipper's mark, as every batch does), or
  // another program holding the row.
  void HoldRow(PgConnection* conn, int64_t epoch, bool as_shipper) {
    const std::string begin =
        as_shipper ? "BEGIN; " + ShipperSessionMark::TakeSql(client_) : std::string("BEGIN");
    ASSERT_TRUE(conn->Exec(begin, Deadline::After(clock_, 5'000'000)).ok());
    auto res = conn->ExecParams(
        "UPDATE sync_metadata.tenant_offsets SET acked_epoch = $2::bigint, acked_offset = 7 "
        "WHERE client_name = $1",
        {client_, std::to_string(epoch)}, Deadline::After(clock_, 5'000'000));
    ASSERT_TRUE(res.ok()) << res.status().ToString();
  }
  std::string AckedEpoch() {
    auto res = admin_->ExecParams(
        "SELECT acked_epoch::text FROM sync_metadata.tenant_offsets WHERE client_name = $1",
        {client_}, Deadline::After(clock_, 5'000'000));
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? std::string(res->GetValue(0, 0)) : "";
  }

  tests::PgTestEnv* env_ = nullptr;
  Clock* clock_ = nullptr;
  tests::TestDatabase db_;
  tests::TestHost host_;
  std::string client_;
  std::optional<PgConnection> admin_;
  CapturingLogger log_;
};

TEST_F(TenantClaimTest, ClaimRaisesTheEpochThenReturnsTheAckedOffset) {
  auto lease = LeaseOf("a", 30'000'000);
  const int64_t epoch = lease->epoch();
  PgConnection conn = Connect("owsync ship " + client_);
  auto offset = Claimer().Claim(&conn, epoch);
  ASSERT_TRUE(offset.ok()) << offset.status().ToString();
  EXPECT_EQ(offset->acked_epoch, epoch);
  EXPECT_EQ(offset->acked_offset, 0u);
  EXPECT_EQ(AckedEpoch(), std::to_string(epoch));
}

TEST_F(TenantClaimTest, AnOlderEpochIsFencedOnceANewerOneClaimed) {
  auto a = LeaseOf("a");
  const int64_t old_epoch = a->epoch();
  clock_->SleepForMicros(1'100'000);  // a's lease expires at the server
  auto b = LeaseOf("b", 30'000'000);
  const int64_t epoch = b->epoch();
  PgConnection conn = Connect("owsync ship " + client_);
  ASSERT_TRUE(Claimer().Claim(&conn, epoch).ok());
  auto stale = Claimer().Claim(&conn, old_epoch);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(stale.status().message().find("fenced"), std::string::npos);
  EXPECT_EQ(AckedEpoch(), std::to_string(epoch));
}

TEST_F(TenantClaimTest, DeposedLeadersBatchHoldingTheRowIsEndedAndItsWorkRolledBack) {
  auto a = LeaseOf("a");
  PgConnection frozen = Connect("owsync ship " + client_);
  HoldRow(&frozen, a->epoch(), /*as_shipper=*/true);
  clock_->SleepForMicros(1'100'000);
  auto b = LeaseOf("b", 30'000'000);
  const int64_t epoch = b->epoch();
  PgConnection conn = Connect("owsync ship " + client_);
  auto offset = Claimer().Claim(&conn, epoch);
  ASSERT_TRUE(offset.ok()) << offset.status().ToString();
  EXPECT_EQ(offset->acked_offset, 0u) << "the frozen batch's offset 7 never committed";
  EXPECT_EQ(AckedEpoch(), std::to_string(epoch));
  EXPECT_TRUE(log_.Contains("of a deposed leader"));
  auto after = frozen.Exec("COMMIT", Deadline::After(clock_, 5'000'000));
  EXPECT_FALSE(after.ok()) << "the frozen leader's session was ended";
}

TEST_F(TenantClaimTest, AnotherProgramsSessionIsWaitedForNeverEnded) {
  auto a = LeaseOf("a", 30'000'000);
  const int64_t epoch = a->epoch();
  // Even one that calls itself a shipper: only the mark counts.
  PgConnection op = Connect("owsync ship " + client_);
  HoldRow(&op, epoch, /*as_shipper=*/false);
  PgConnection conn = Connect("owsync ship " + client_);
  auto offset = Claimer(/*terminate_wait_micros=*/700'000).Claim(&conn, epoch);
  ASSERT_FALSE(offset.ok());
  EXPECT_EQ(offset.status().code(), StatusCode::kBusy) << offset.status().ToString();
  EXPECT_TRUE(offset.status().retryable());
  int said = 0;
  for (const auto& line : log_.Lines())
    said += line.find("which is not a shipper") != std::string::npos;
  EXPECT_EQ(said, 1) << "said once, not every 50 ms";
  EXPECT_TRUE(op.Exec("COMMIT", Deadline::After(clock_, 5'000'000)).ok()) << "still alive";
}

// PostgreSQL cuts application_name to 63 bytes, and a URL may set it to anything: neither
// hides a deposed leader's batch from the claim.
TEST_F(TenantClaimTest, DeposedLeadersBatchIsEndedWhateverItsApplicationNameOrClientLength) {
  const std::string long_client = client_ + std::string(60 - client_.size(), 'x');
  ASSERT_NO_FATAL_FAILURE(Provision(long_client));
  client_ = long_client;
  auto a = LeaseOf("a");
  PgConnection frozen = Connect("grafana-dashboard");  // as a URL's application_name would
  HoldRow(&frozen, a->epoch(), /*as_shipper=*/true);
  clock_->SleepForMicros(1'100'000);
  auto b = LeaseOf("b", 30'000'000);
  PgConnection conn = Connect("owsync ship " + client_);
  auto offset = Claimer().Claim(&conn, b->epoch());
  ASSERT_TRUE(offset.ok()) << offset.status().ToString();
  EXPECT_EQ(offset->acked_offset, 0u);
  EXPECT_TRUE(log_.Contains("of a deposed leader"));
  EXPECT_FALSE(frozen.Exec("COMMIT", Deadline::After(clock_, 5'000'000)).ok());
}

}  // namespace
}  // namespace owsync::shipper
