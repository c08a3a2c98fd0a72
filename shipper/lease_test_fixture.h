// LeaseTest: the fixture of the lease's PostgreSQL tests (lease_pg_test, lease_fast_path_pg_test):
// a test database with `db init` done, one registered host, leases of that host's role (row-level
// security applies), and the administrator's connection to read the lease row.
#ifndef OWSYNC_SHIPPER_LEASE_TEST_FIXTURE_H_
#define OWSYNC_SHIPPER_LEASE_TEST_FIXTURE_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "shipper/lease.h"
#include "tests/pg_test_env.h"

namespace owsync::shipper {

using tests::PgTestEnv;

class LeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = PgTestEnv::Get();
    ASSERT_NE(env_, nullptr);
    clock_ = env_->clock();
    auto db = env_->CreateDatabase("lease");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    auto host = env_->AddHost(db_, "lease-host");
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    host_ = *host;
    auto admin = env_->ConnectAdmin(db_.admin_url);
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    admin_.emplace(std::move(admin).value());
  }

  LeaseOptions Options(const std::string& name, int64_t lease_micros) {
    LeaseOptions o;
    o.cluster = host_.cluster;
    o.node_id = Lease::MakeNodeId(host_.name, name);
    o.lease_micros = lease_micros;
    o.retry_micros = std::min<int64_t>(100'000, lease_micros / 4);
    return o;
  }
  std::unique_ptr<Lease> NewLease(const std::string& name, int64_t lease_micros,
                                  Clock* clock = nullptr) {
    return std::make_unique<Lease>(clock ? clock : clock_, &log_, host_.url,
                                   Options(name, lease_micros));
  }
  // One value of the lease row, read by the administrator.
  std::string Row(const std::string& expr) {
    auto res = admin_->ExecParams("SELECT (" + expr +
                                      ")::text FROM sync_metadata.leader_election "
                                      "WHERE cluster_name = $1",
                                  {host_.cluster}, Deadline::After(clock_, 10'000'000));
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    if (!res.ok() || res->rows() == 0) return "<no row>";
    return std::string(res->GetValue(0, 0));
  }
  int64_t SequenceValue() {
    auto res = admin_->Exec("SELECT last_value FROM sync_metadata.leader_epoch_seq",
                            Deadline::After(clock_, 10'000'000));
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? std::stoll(std::string(res->GetValue(0, 0))) : -1;
  }
  static bool Acquire(Lease& lease) {
    auto r = lease.TryAcquireOrRenew();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && *r;
  }
  void SleepMicros(int64_t us) { clock_->SleepForMicros(us); }

  PgTestEnv* env_ = nullptr;
  Clock* clock_ = nullptr;
  tests::TestDatabase db_;
  tests::TestHost host_;
  std::optional<PgConnection> admin_;
  CapturingLogger log_;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_LEASE_TEST_FIXTURE_H_
