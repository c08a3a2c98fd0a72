// In-stream verification end to end (issue 10): capture hashes every table in key ranges into
// the outbox, the shipper compares PostgreSQL with each range once it applied everything before
// it, and rows found different are sent again through the outbox. The real binaries run
// continuously on a real SQLite file and PostgreSQL; PostgreSQL is then changed behind owsync's
// back (as its owner, the dirty trigger off): an updated row, a deleted row, an extra row, in a
// table PostgreSQL orders like SQLite (range checks) and in one it cannot (NOCASE keys: the
// listed keys only). Each is found (sync_metadata.drift_log) and repaired without anyone acting;
// values whose text differs but whose meaning PostgreSQL keeps (JSON spacing, key order,
// numbers) are never called drift, nor are dead letters or rows changed in PostgreSQL with the
// dirty trigger on (conflicts).
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>

#include "tests/ship_test_fixture.h"

namespace owsync::tests {
namespace {

class InStreamVerifyTest : public ShipTestFixture {
 protected:
  void TearDown() override {
    for (auto* child : {&capture_, &ship_}) {
      if (child->has_value() && (*child)->running()) {
        (void)(*child)->Signal(SIGTERM);
        (void)(*child)->WaitFor(env_->clock(), 20'000'000);
      }
    }
    ShipTestFixture::TearDown();
  }
  void StartContinuous() {
    auto c = StartOwsync({"capture", "--db", db_path(), "--outbox", outbox_dir(), "--client",
                          client_, "--verify-every", "1s", "--verify-rows-per-sec", "100000",
                          "--verify-chunk-rows", "7", "--poll-ms", "50"},
                         "capture.log", {{"LOG_LEVEL", "info"}});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    capture_.emplace(std::move(*c));
    auto s =
        StartOwsync({"ship", "--outbox-root", outbox_root()}, "ship.log", {{"LOG_LEVEL", "info"}});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ship_.emplace(std::move(*s));
  }
  std::string One(const std::string& sql, const std::vector<std::optional<std::string>>& p = {}) {
    Rows r = Query(sql, p);
    return r.empty() || r[0].empty() || !r[0][0] ? "" : *r[0][0];
  }
  int64_t DriftRows(const std::string& table) {
    return std::stoll(
        One("SELECT COALESCE(sum(missing + different + extra), 0) FROM sync_metadata.drift_log "
            "WHERE client_name = $1 AND table_name = $2",
            {client_, table}));
  }
  // PostgreSQL changed by its owner with the dirty trigger off: not a conflict, drift.
  void BehindOwsyncsBack(const std::string& table, const std::string& sql) {
    Query("ALTER TABLE " + Table(table) + " DISABLE TRIGGER _owsync_dirty");
    Query(sql);
    Query("ALTER TABLE " + Table(table) + " ENABLE TRIGGER _owsync_dirty");
  }
  bool WaitFor(const std::function<bool()>& done, int64_t micros = 90'000'000) {
    for (int64_t waited = 0; waited < micros; waited += 250'000) {
      if (done()) return true;
      env_->clock()->SleepForMicros(250'000);
    }
    return done();
  }
  std::string Log(const std::string& name) {
    auto text = ReadFileToString(env_->fs(), dir_->Child(name));
    return text.ok() ? *text : text.status().ToString();
  }

  std::optional<cli::ChildProcess> capture_, ship_;
};

TEST_F(InStreamVerifyTest, DriftMadeBehindOwsyncsBackIsFoundAndRepairedWithoutAnyone) {
  Sql("CREATE TABLE item (id TEXT PRIMARY KEY, n INTEGER, doc JSON, r REAL, flag BOOLEAN, "
      "data BLOB, num NUMERIC, at DATETIME);"
      "CREATE TABLE tag (name TEXT COLLATE NOCASE PRIMARY KEY, v TEXT);"
      "CREATE TABLE pair (a INTEGER NOT NULL, b TEXT NOT NULL, v TEXT, PRIMARY KEY (a, b))");
  for (int i = 0; i < 40; ++i) {
    const std::string k = std::to_string(i);
    char hex[3];
    std::snprintf(hex, sizeof(hex), "%02x", i);
    Sql("INSERT INTO item VALUES ('k" + k + "', " + k + ", '{ \"z\": " + k +
        ", \"a\" : [1.50, 1e2, -0.0, \"\\u00e9\\n\"], \"a\": {\"dup\": true}}', " + k + ".25, " +
        std::to_string(i % 2) + ", x'00ff" + hex + "', " + k + ".5, '2025-01-0" +
        std::to_string(1 + i % 9) + " 10:00:00')");
    Sql("INSERT INTO tag VALUES ('Tag" + k + "', 'v" + k + "')");
    Sql("INSERT INTO pair VALUES (" + std::to_string(i % 5) + ", 'b" + k + "', 'p')");
  }
  // A value PostgreSQL cannot take: a dead letter, never drift.
  Sql("INSERT INTO item (id, n) VALUES ('refused', 'not a number')");
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_EQ(Capture().exit_code, 0);
  ASSERT_EQ(Ship().exit_code, 0);
  ASSERT_EQ(Verify().exit_code, 0);

  ASSERT_NO_FATAL_FAILURE(StartContinuous());
  // Passes over an equal copy find nothing: the canonical forms agree for every type.
  ASSERT_TRUE(WaitFor([&] { return Log("capture.log").find("pass done") != std::string::npos; }))
      << Log("capture.log");
  ASSERT_TRUE(WaitFor([&] {
    const std::string log = Log("capture.log");
    size_t passes = 0;
    for (size_t at = log.find("pass done"); at != std::string::npos;
         at = log.find("pass done", at + 1)) {
      ++passes;
    }
    return passes >= 2;
  })) << Log("capture.log");
  env_->clock()->SleepForMicros(2'000'000);  // the shipper applies the second pass
  EXPECT_EQ(One("SELECT count(*) FROM sync_metadata.drift_log WHERE client_name = $1", {client_}),
            "0")
      << Log("ship.log");

  // Behind owsync's back.
  BehindOwsyncsBack("item", "UPDATE " + Table("item") + " SET n = 999 WHERE id = 'k5'");
  BehindOwsyncsBack(
      "item", "UPDATE " + Table("item") + " SET doc = doc || '{\"z\": 0}'::jsonb WHERE id = 'k7'");
  BehindOwsyncsBack("item", "DELETE FROM " + Table("item") + " WHERE id = 'k6'");
  BehindOwsyncsBack("item", "INSERT INTO " + Table("item") +
                                " (id, n, _owsync_offset) VALUES ('zz-extra', 1, 1)");
  BehindOwsyncsBack("tag", "UPDATE " + Table("tag") + " SET v = 'changed' WHERE name = 'Tag3'");
  BehindOwsyncsBack("tag", "DELETE FROM " + Table("tag") + " WHERE name = 'Tag4'");
  BehindOwsyncsBack("pair", "UPDATE " + Table("pair") + " SET v = 'x' WHERE a = 2 AND b = 'b7'");
  BehindOwsyncsBack("pair", "INSERT INTO " + Table("pair") +
                                " (a, b, v, _owsync_offset) VALUES (9, 'b99', 'x', 1)");
  // A change made in PostgreSQL with the dirty trigger on is a conflict, never repaired.
  Query("UPDATE " + Table("item") + " SET n = -1 WHERE id = 'k9'");

  ASSERT_TRUE(WaitFor([&] {
    return One("SELECT n::text FROM " + Table("item") + " WHERE id = 'k5'") == "5" &&
           One("SELECT doc->>'z' FROM " + Table("item") + " WHERE id = 'k7'") == "7" &&
           One("SELECT count(*) FROM " + Table("item") +
               " WHERE id = 'k6' AND _owsync_deleted_at IS NULL") == "1" &&
           One("SELECT count(*) FROM " + Table("item") +
               " WHERE id = 'zz-extra' AND _owsync_deleted_at IS NULL") == "0" &&
           One("SELECT v FROM " + Table("tag") + " WHERE name = 'Tag3'") == "v3" &&
           One("SELECT count(*) FROM " + Table("tag") +
               " WHERE name = 'Tag4' AND _owsync_deleted_at IS NULL") == "1" &&
           One("SELECT v FROM " + Table("pair") + " WHERE a = 2 AND b = 'b7'") == "p" &&
           One("SELECT count(*) FROM " + Table("pair") +
               " WHERE a = 9 AND _owsync_deleted_at IS NULL") == "0";
  })) << Log("ship.log")
      << Log("capture.log");
  EXPECT_EQ(DriftRows("item"), 4) << Log("ship.log");
  EXPECT_EQ(DriftRows("tag"), 2) << Log("ship.log");
  EXPECT_EQ(DriftRows("pair"), 2) << Log("ship.log");
  EXPECT_EQ(One("SELECT count(*) FROM sync_metadata.drift_log WHERE client_name = $1 AND "
                "'[\"k9\"]' = ANY (record_keys)",
                {client_}),
            "0");
  EXPECT_EQ(One("SELECT n::text FROM " + Table("item") + " WHERE id = 'k9'"), "-1")
      << "a change made in PostgreSQL is left to conflict resolution";
  EXPECT_NE(Log("ship.log").find("drift in table item"), std::string::npos);
  EXPECT_NE(Log("capture.log").find("repair: sent"), std::string::npos);

  // Everything else is equal again: verify agrees but for the conflict row k9.
  BehindOwsyncsBack(
      "item", "UPDATE " + Table("item") + " SET n = 9, _owsync_dirty = false WHERE id = 'k9'");
  ASSERT_TRUE(capture_->Signal(SIGTERM).ok());
  ASSERT_TRUE(capture_->Wait().ok());
  CliRun v = Verify();
  EXPECT_EQ(v.exit_code, 0) << v.out;
}

// The application's realistic and odd values (large JSON, unicode, extremes, misfits) in both
// Open WebUI schemas: passes over a copy that is equal find nothing.
class InStreamVerifyFixtureTest : public InStreamVerifyTest,
                                  public ::testing::WithParamInterface<const char*> {};

TEST_P(InStreamVerifyFixtureTest, PassesOverAnEqualCopyOfOpenWebUiFindNoDrift) {
  ASSERT_NO_FATAL_FAILURE(InitFromFixture(GetParam()));
  ASSERT_EQ(Owsync({"workload", "--db", db_path(), "--ops", "400", "--seed", "21"}).exit_code, 0);
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_EQ(Capture().exit_code, 0);
  ASSERT_EQ(Ship().exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(StartContinuous());
  size_t passes = 0;
  ASSERT_TRUE(WaitFor([&] {
    const std::string log = Log("capture.log");
    passes = 0;
    for (size_t at = log.find("pass done"); at != std::string::npos;
         at = log.find("pass done", at + 1)) {
      ++passes;
    }
    return passes >= 2;
  })) << Log("capture.log");
  env_->clock()->SleepForMicros(2'000'000);
  EXPECT_EQ(One("SELECT count(*) FROM sync_metadata.drift_log WHERE client_name = $1", {client_}),
            "0")
      << One("SELECT string_agg(table_name || ' ' || key_range || ' ' || record_keys::text, '; ') "
             "FROM sync_metadata.drift_log WHERE client_name = $1",
             {client_})
      << "\n"
      << Log("ship.log");
  EXPECT_EQ(Log("ship.log").find("verification of table"), std::string::npos)
      << "no table was skipped:\n"
      << Log("ship.log");
}

INSTANTIATE_TEST_SUITE_P(OpenWebUi, InStreamVerifyFixtureTest,
                         ::testing::Values("v0.6.31", "v0.11.0"), [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n) c = c == '.' ? '_' : c;
                           return n;
                         });

}  // namespace
}  // namespace owsync::tests
