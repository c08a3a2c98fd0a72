// The real `owsync ship` binary serving its HTTP API: it advertises the port it bound (API_PORT=0)
// in its heartbeat row, answers /health, ships an hourly tenant at once on `owsync trigger
// --wait`, `owsync status` shows it leading, and SIGTERM records the planned stop.
#include <gtest/gtest.h>
#include <httplib.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "cli/child_process.h"
#include "tests/ship_test_fixture.h"

namespace owsync::tests {
namespace {

class ShipApiTest : public ShipTestFixture {
 protected:
  std::string Value(const std::string& sql) {
    Rows r = Query(sql, {host_->cluster});
    return r.empty() || !r[0][0] ? "" : *r[0][0];
  }
  bool WaitFor(const std::function<bool()>& done, int64_t micros = 30'000'000) {
    Clock* clock = env_->clock();
    const int64_t until = clock->MonotonicMicros() + micros;
    while (clock->MonotonicMicros() < until) {
      if (done()) return true;
      clock->SleepForMicros(100'000);
    }
    return done();
  }
};

TEST_F(ShipApiTest, ShipServesHealthTriggerAndStatusAndRecordsItsPlannedStop) {
  Sql("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)");
  Sql("INSERT INTO note VALUES (1, 'one')");
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_EQ(Capture().exit_code, 0);
  const std::string token_file = dir_->Child("api-token");
  ASSERT_TRUE(WriteFileAtomically(env_->fs(), token_file, "tok-" + client_ + "\n").ok());
  const std::map<std::string, std::string> env = {{"ROLE", "primary"},
                                                  {"API_PORT", "0"},
                                                  {"API_TOKEN_FILE", token_file},
                                                  {"DEFAULT_SYNC_INTERVAL", "1h"}};
  auto ship = StartOwsync({"ship", "--outbox-root", outbox_root()}, "ship.log", env);
  ASSERT_TRUE(ship.ok()) << ship.status().ToString();

  // The node advertises the port it bound in its heartbeat row.
  std::string address;
  ASSERT_TRUE(WaitFor([&] {
    address = Value(
        "SELECT api_address FROM sync_metadata.cluster_nodes WHERE cluster_name = $1 AND "
        "node_role = 'primary' AND is_leader");
    return !address.empty();
  })) << "no heartbeat row as leader";
  const std::string base = "http://" + address;
  httplib::Client http(base);
  auto health = http.Get("/health");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200) << health->body;
  auto h = nlohmann::json::parse(health->body);
  EXPECT_EQ(h["is_leader"], true);
  EXPECT_EQ(h["role"], "primary");

  // First pass done, then the tenant waits an hour: only the trigger ships this change.
  ASSERT_TRUE(WaitFor([&] { return Query("SELECT 1 FROM " + Table("note")).size() == 1; }));
  Sql("INSERT INTO note VALUES (2, 'two'), (3, 'three')");
  ASSERT_EQ(Capture().exit_code, 0);
  CliRun trigger = Owsync({"trigger", client_, "--wait", "--api", base, "--timeout", "60"},
                          {{"API_TOKEN_FILE", token_file}});
  EXPECT_EQ(trigger.exit_code, 0) << trigger.out;
  EXPECT_NE(trigger.out.find(": success ("), std::string::npos) << trigger.out;
  CliRun verify = Verify();
  EXPECT_EQ(verify.exit_code, 0) << verify.out;

  CliRun status = Owsync({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_NE(status.out.find("Primary: ✅ Running (Leader)\n"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("Secondary: ❌ Not running (no heartbeat recorded)\n"),
            std::string::npos)
      << status.out;

  // SIGTERM: a planned stop, recorded in the heartbeat row.
  ASSERT_EQ(kill(ship->pid(), SIGTERM), 0);
  auto code = ship->WaitFor(env_->clock(), 30'000'000);
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  ASSERT_TRUE(code->has_value()) << "ship did not stop on SIGTERM";
  EXPECT_EQ(cli::ExitCodeOf(**code), 0);
  EXPECT_EQ(Value("SELECT status || ' ' || is_leader FROM sync_metadata.cluster_nodes WHERE "
                  "cluster_name = $1 AND node_role = 'primary'"),
            "stopped false");
  status = Owsync({"status"});
  EXPECT_NE(status.out.find("Primary: ❌ Not running (stopped "), std::string::npos) << status.out;
  EXPECT_FALSE(http.Get("/health")) << "the API still answers after the node stopped";
}

}  // namespace
}  // namespace owsync::tests
