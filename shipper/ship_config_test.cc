#include "shipper/ship_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>

#include "util/mem_file_system.h"

namespace owsync::shipper {
namespace {

class ShipConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vars_["DATABASE_URL"] = "postgresql://owsync_host_a:s3cret@db.example:5432/sync";
    ASSERT_TRUE(fs_.CreateDirs("/etc/owsync").ok());
  }
  Result<ShipConfig> Parse() {
    return ShipConfig::FromEnvironment(
        [this](const std::string& name) -> std::optional<std::string> {
          auto it = vars_.find(name);
          if (it == vars_.end()) return std::nullopt;
          return it->second;
        },
        &fs_);
  }
  // The error message of a failed Parse ("" when it succeeded).
  std::string Error() {
    auto c = Parse();
    EXPECT_FALSE(c.ok());
    if (c.ok()) return "";
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << c.status().ToString();
    return c.status().ToString();
  }
  std::map<std::string, std::string> vars_;
  MemFileSystem fs_;
};

std::string Joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST_F(ShipConfigTest, DefaultsFollowTheReferenceAndOwsyncsChoices) {
  auto c = Parse();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof(host) - 1), 0);
  EXPECT_EQ(c->database_url, vars_["DATABASE_URL"]);
  EXPECT_EQ(c->lock_database_url, vars_["DATABASE_URL"]);
  EXPECT_EQ(c->host_name, host);
  EXPECT_EQ(c->cluster_name, host);
  EXPECT_EQ(c->role, "primary");
  EXPECT_EQ(c->api_port, 9443);
  EXPECT_EQ(c->metrics_port, 9443);
  EXPECT_TRUE(c->enable_metrics);
  EXPECT_EQ(c->batch_rows, 5000);
  EXPECT_EQ(c->batch_bytes, 8 << 20);
  EXPECT_EQ(c->queue_bytes, 24 << 20);
  EXPECT_EQ(c->lease_micros, 10'000'000);
  EXPECT_EQ(c->heartbeat_micros, 3'333'333);
  EXPECT_TRUE(c->continuous());
  EXPECT_TRUE(c->warnings.empty());
}

TEST_F(ShipConfigTest, EveryVariableIsRead) {
  vars_["HOST_NAME"] = "web-1";
  vars_["CLUSTER_NAME"] = "pair-a";
  vars_["ROLE"] = "Secondary";
  vars_["BATCH_SIZE"] = "2000";
  vars_["BATCH_BYTES"] = "8MiB";
  vars_["SHIP_QUEUE_BYTES"] = "1G";
  vars_["LEASE_DURATION"] = "6";
  vars_["HEARTBEAT_INTERVAL"] = "1500ms";
  vars_["DEFAULT_SYNC_INTERVAL"] = "5m";
  vars_["ENABLE_METRICS"] = "off";
  vars_["METRICS_PORT"] = "9100";
  vars_["API_TOKEN_FILE"] = "/etc/owsync/token";
  auto c = Parse();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->host_name, "web-1");
  EXPECT_EQ(c->cluster_name, "pair-a");
  EXPECT_EQ(c->role, "secondary");
  EXPECT_EQ(c->api_port, 9444) << "a secondary defaults to the second port";
  EXPECT_EQ(c->batch_rows, 2000);
  EXPECT_EQ(c->batch_bytes, 8 << 20);
  EXPECT_EQ(c->queue_bytes, int64_t{1} << 30);
  EXPECT_EQ(c->lease_micros, 6'000'000);
  EXPECT_EQ(c->heartbeat_micros, 1'500'000);
  EXPECT_EQ(c->sync_interval_micros, 300'000'000);
  EXPECT_FALSE(c->continuous());
  EXPECT_FALSE(c->enable_metrics);
  EXPECT_EQ(c->metrics_port, 9100);
  EXPECT_EQ(c->api_token_file, "/etc/owsync/token");
}

TEST_F(ShipConfigTest, SyncIntervalsOfferedToOperators) {
  const std::pair<const char*, int64_t> cases[] = {{"0", 0},
                                                   {"continuous", 0},
                                                   {"60", 60'000'000},
                                                   {"1m", 60'000'000},
                                                   {"hourly", 3'600'000'000},
                                                   {"daily", 86'400'000'000},
                                                   {"300", 300'000'000}};
  for (const auto& [text, micros] : cases) {
    vars_["DEFAULT_SYNC_INTERVAL"] = text;
    auto c = Parse();
    ASSERT_TRUE(c.ok()) << text << ": " << c.status().ToString();
    EXPECT_EQ(c->sync_interval_micros, micros) << text;
  }
  vars_["DEFAULT_SYNC_INTERVAL"] = "weekly";
  EXPECT_NE(Error().find("DEFAULT_SYNC_INTERVAL=\"weekly\""), std::string::npos);
}

TEST_F(ShipConfigTest, DatabaseUrlFromAFileIsTrimmed) {
  vars_.erase("DATABASE_URL");
  ASSERT_TRUE(
      WriteFileAtomically(&fs_, "/etc/owsync/db_url", "  postgresql://owsync_host_a:pw@db/sync\n\n")
          .ok());
  vars_["DATABASE_URL_FILE"] = "/etc/owsync/db_url";
  auto c = Parse();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->database_url, "postgresql://owsync_host_a:pw@db/sync");
  EXPECT_EQ(c->database_url_from, "DATABASE_URL_FILE (/etc/owsync/db_url)");
}

TEST_F(ShipConfigTest, DatabaseUrlSourcesAreChecked) {
  vars_["DATABASE_URL_FILE"] = "/etc/owsync/db_url";
  EXPECT_NE(Error().find("both DATABASE_URL and DATABASE_URL_FILE"), std::string::npos);
  vars_.erase("DATABASE_URL");
  auto missing = Parse();
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().ToString().find("/etc/owsync/db_url"), std::string::npos);
  ASSERT_TRUE(WriteFileAtomically(&fs_, "/etc/owsync/db_url", " \n").ok());
  EXPECT_NE(Error().find("empty"), std::string::npos);
  vars_.erase("DATABASE_URL_FILE");
  EXPECT_NE(Error().find("DATABASE_URL (or DATABASE_URL_FILE) is required"), std::string::npos);
  vars_["DATABASE_URL"] = "";  // set but empty counts as unset
  EXPECT_NE(Error().find("is required"), std::string::npos);
  vars_["DATABASE_URL"] = "postgresql://u:topsecret@host/db?no_such_option=1";
  const std::string bad = Error();
  EXPECT_NE(bad.find("DATABASE_URL"), std::string::npos);
  EXPECT_EQ(bad.find("topsecret"), std::string::npos) << "never repeat a secret: " << bad;
}

TEST_F(ShipConfigTest, BadValuesNameTheVariableAndTheValue) {
  const std::pair<std::string, std::string> cases[] = {
      {"ROLE", "leader"},
      {"API_PORT", "70000"},
      {"API_PORT", "94x3"},
      {"METRICS_PORT", "0"},
      {"ENABLE_METRICS", "maybe"},
      {"BATCH_SIZE", "0"},
      {"BATCH_SIZE", "-5"},
      {"BATCH_SIZE", "1e3"},
      {"BATCH_BYTES", "16 parsecs"},
      {"BATCH_BYTES", "1k"},
      {"BATCH_BYTES", "1.5"},
      {"SHIP_QUEUE_BYTES", "9G"},
      {"LEASE_DURATION", "0.1"},
      {"LEASE_DURATION", "ten"},
      {"HEARTBEAT_INTERVAL", "-1"},
      {"DEFAULT_SYNC_INTERVAL", "8d"},
      {"HOST_NAME", "two words"},
      {"CLUSTER_NAME", std::string(101, 'c')},
  };
  for (const auto& [name, value] : cases) {
    SetUp();
    vars_ = {{"DATABASE_URL", "postgresql://u@h/d"}, {name, value}};
    const std::string error = Error();
    EXPECT_NE(error.find(name + "=\"" + value + "\""), std::string::npos)
        << name << "=" << value << " gave: " << error;
  }
}

TEST_F(ShipConfigTest, HeartbeatMustLeaveTheLeaseTimeToRenew) {
  vars_["LEASE_DURATION"] = "10";
  vars_["HEARTBEAT_INTERVAL"] = "8";
  const std::string error = Error();
  EXPECT_NE(error.find("HEARTBEAT_INTERVAL=8s"), std::string::npos) << error;
  EXPECT_NE(error.find("LEASE_DURATION=10s"), std::string::npos) << error;
  vars_["HEARTBEAT_INTERVAL"] = "30";  // the old system's value with owsync's default lease
  vars_.erase("LEASE_DURATION");
  EXPECT_NE(Error().find("HEARTBEAT_INTERVAL"), std::string::npos);
  vars_["LEASE_DURATION"] = "60";  // the old system's pair is accepted
  auto c = Parse();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->heartbeat_micros, 30'000'000);
  vars_.erase("HEARTBEAT_INTERVAL");
  vars_["LEASE_DURATION"] = "0.3";  // short leases for tests: heartbeat follows
  c = Parse();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->heartbeat_micros, 100'000);
}

TEST_F(ShipConfigTest, QueueMustHoldABatch) {
  vars_["BATCH_BYTES"] = "32M";
  vars_["SHIP_QUEUE_BYTES"] = "16M";
  EXPECT_NE(Error().find("SHIP_QUEUE_BYTES"), std::string::npos);
}

TEST_F(ShipConfigTest, EffectiveConfigMasksSecretsAndMarksDefaults) {
  vars_["LOCK_DATABASE_URL"] = "postgresql://owsync_host_a:lockpw@db.example:5432/sync";
  vars_["BATCH_SIZE"] = "2000";
  auto c = Parse();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const std::string text = Joined(c->EffectiveConfigLines());
  EXPECT_EQ(text.find("s3cret"), std::string::npos) << text;
  EXPECT_EQ(text.find("lockpw"), std::string::npos) << text;
  EXPECT_NE(text.find("DATABASE_URL=postgresql://owsync_host_a:********@db.example:5432/sync "
                      "(from DATABASE_URL)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("BATCH_SIZE=2000 rows\n"), std::string::npos) << text;
  EXPECT_NE(text.find("BATCH_BYTES=8388608 (8 MiB) (default)"), std::string::npos) << text;
  EXPECT_NE(text.find("LEASE_DURATION=10s (default)"), std::string::npos) << text;
  EXPECT_NE(text.find("HEARTBEAT_INTERVAL=3.333s (default)"), std::string::npos) << text;
  EXPECT_NE(text.find("DEFAULT_SYNC_INTERVAL=continuous (default)"), std::string::npos) << text;
  EXPECT_NE(text.find("API_PORT=9443 (default)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("API_BIND=127.0.0.1 (default)"), std::string::npos) << text;
  EXPECT_NE(text.find("METRICS_PORT=9443 (default) (accepted, not applied yet)"), std::string::npos)
      << text;
}

TEST_F(ShipConfigTest, LockUrlDefaultsToTheDatabaseUrl) {
  auto c = Parse();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->lock_database_url, c->database_url);
}

TEST_F(ShipConfigTest, LockUrlNoneTurnsTheFastPathOff) {
  vars_["LOCK_DATABASE_URL"] = "None";
  auto c = Parse();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->lock_database_url, "");
  const std::string text = Joined(c->EffectiveConfigLines());
  EXPECT_NE(text.find("fast path off: LOCK_DATABASE_URL=none"), std::string::npos) << text;
}

TEST_F(ShipConfigTest, TransactionPoolerPortTurnsTheFastPathOffUnlessALockUrlIsGiven) {
  vars_["DATABASE_URL"] = "postgresql://owsync_host_a:s3cret@pooler.example:6543/postgres";
  auto c = Parse();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->lock_database_url, "");
  EXPECT_NE(c->fast_path_off_reason.find("6543"), std::string::npos);
  vars_["LOCK_DATABASE_URL"] = "postgresql://owsync_host_a:s3cret@pooler.example:5432/postgres";
  c = Parse();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->lock_database_url, vars_["LOCK_DATABASE_URL"]);
}

TEST_F(ShipConfigTest, SettingsNotAppliedYetAreWarnedAbout) {
  vars_["API_PORT"] = "9443";
  vars_["API_TOKEN_FILE"] = "/etc/owsync/token";
  vars_["ENABLE_METRICS"] = "true";
  auto c = Parse();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const std::string text = Joined(c->warnings);
  EXPECT_EQ(text.find("API_PORT"), std::string::npos) << text;
  EXPECT_EQ(text.find("API_TOKEN_FILE"), std::string::npos) << text;
  EXPECT_NE(text.find("ENABLE_METRICS is accepted, not applied yet"), std::string::npos);
  EXPECT_EQ(text.find("METRICS_PORT"), std::string::npos) << "only what was set";
}

}  // namespace
}  // namespace owsync::shipper
