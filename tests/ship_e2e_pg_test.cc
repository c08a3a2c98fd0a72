// End-to-end: SQLite -> capture -> outbox -> ship -> PostgreSQL -> verify, with the real
// commands, a real SQLite file and a real PostgreSQL. Each value either arrives exactly or is
// in the dead-letter table with its reason; the tests assert which.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <tuple>

#include "cli/workload_generator.h"
#include "tests/ship_test_fixture.h"

namespace owsync::tests {
namespace {

// Parameter: through pgbouncer in transaction mode (true) or directly (false).
class ShipE2eTest : public ShipTestFixture, public ::testing::WithParamInterface<bool> {
 protected:
  bool UsePgBouncer() const override { return GetParam(); }
  // Capture, ship and verify must all succeed.
  void CaptureShipVerify() {
    CliRun c = Capture();
    ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
    CliRun s = Ship();
    ASSERT_EQ(s.exit_code, 0) << s.err;
    CliRun v = Verify();
    ASSERT_EQ(v.exit_code, 0) << v.out << v.err;
  }
  void BindAndStep(const std::string& sql, const std::function<void(sqlite3_stmt*)>& bind) {
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db(), sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db());
    bind(stmt);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_DONE) << sqlite3_errmsg(db());
    sqlite3_finalize(stmt);
  }
  std::string DeadLetterReason(const std::string& table, const std::string& key_json) {
    Rows r = Query(
        "SELECT reason FROM sync_metadata.dead_letters WHERE client_name = $1 AND table_name = "
        "$2 AND record_key = $3 ORDER BY outbox_offset DESC LIMIT 1",
        {client_, table, key_json});
    return r.empty() || !r[0][0] ? "" : *r[0][0];
  }
};

TEST_P(ShipE2eTest, ChangesOfEveryKindArriveAndVerifyIsEqual) {
  Sql("CREATE TABLE \"user\" (id TEXT PRIMARY KEY, name TEXT, n BIGINT, r REAL, flag BOOLEAN, "
      "doc JSON, data BLOB, \"we\"\"ird col\" TEXT, \"ünï cödé\" TEXT);"
      "CREATE TABLE pair (a INTEGER NOT NULL, b TEXT NOT NULL, v TEXT, PRIMARY KEY (a, b));"
      "CREATE TABLE legacy (id VARCHAR(255) NOT NULL, v TEXT, UNIQUE (id));"
      "CREATE TABLE person (id INTEGER PRIMARY KEY, email TEXT UNIQUE, name TEXT);"
      "CREATE TABLE \"sp ace \"\"q\"\"\" (id TEXT PRIMARY KEY, v TEXT);"
      "INSERT INTO \"user\" (id, name, n, r, flag, doc) VALUES ('u1', 'Ann', 1, 1.5, 1, "
      "'{\"a\": [1, 2]}');"
      "INSERT INTO pair VALUES (1, 'x', 'one'), (2, 'y', 'two');"
      "INSERT INTO legacy VALUES ('L1', 'old');"
      "INSERT INTO person VALUES (1, 'x@y', 'first');"
      "INSERT INTO \"sp ace \"\"q\"\"\" VALUES ('k', 'v');");
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());

  // Updates, deletes, a key change, a composite key, a legacy UNIQUE key, odd identifiers.
  Sql("UPDATE \"user\" SET name = 'Anne', \"we\"\"ird col\" = 'w', \"ünï cödé\" = 'ü' WHERE "
      "id = 'u1';"
      "UPDATE \"user\" SET id = 'u1b' WHERE id = 'u1';"
      "DELETE FROM pair WHERE a = 1;"
      "UPDATE pair SET v = 'deux' WHERE a = 2;"
      "UPDATE legacy SET v = 'new' WHERE id = 'L1';"
      "INSERT INTO legacy VALUES ('L2', 'two');"
      "DELETE FROM \"sp ace \"\"q\"\"\";");
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  EXPECT_EQ(
      Query("SELECT name, _owsync_deleted_at IS NULL FROM " + Table("user") + " WHERE id = 'u1b'"),
      (Rows{{"Anne", "t"}}));
  EXPECT_EQ(
      Query("SELECT _owsync_deleted_at IS NOT NULL FROM " + Table("user") + " WHERE id = 'u1'"),
      (Rows{{"t"}}));
  EXPECT_EQ(
      Query("SELECT a, b, v, _owsync_deleted_at IS NOT NULL FROM " + Table("pair") + " ORDER BY a"),
      (Rows{{"1", "x", "one", "t"}, {"2", "y", "deux", "f"}}));
  EXPECT_EQ(
      Query("SELECT \"we\"\"ird col\", \"ünï cödé\" FROM " + Table("user") + " WHERE id = 'u1b'"),
      (Rows{{"w", "ü"}}));

  // INSERT OR REPLACE through the secondary UNIQUE key deletes row 1 without a delete
  // trigger; capture's BEFORE trigger logged it, so the copy tombstones it at once.
  Sql("INSERT OR REPLACE INTO person VALUES (2, 'x@y', 'second')");
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  EXPECT_EQ(
      Query("SELECT id, _owsync_deleted_at IS NOT NULL FROM " + Table("person") + " ORDER BY id"),
      (Rows{{"1", "t"}, {"2", "f"}}));
  // A re-inserted key comes back to life.
  Sql("INSERT INTO pair VALUES (1, 'x', 'again')");
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  EXPECT_EQ(Query("SELECT v, _owsync_deleted_at IS NULL FROM " + Table("pair") + " WHERE a = 1"),
            (Rows{{"again", "t"}}));
}

TEST_P(ShipE2eTest, EdgeValuesAreExactAndMisfitsAreDeadLetteredWithReason) {
  Sql("CREATE TABLE v (id TEXT PRIMARY KEY, t TEXT, n BIGINT, r REAL, flag BOOLEAN, doc JSON, "
      "data BLOB, num NUMERIC)");
  ASSERT_EQ(Provision().exit_code, 0);
  const std::string ins = "INSERT INTO v (id, t, n, r, flag, doc, data) VALUES (?,?,?,?,?,?,?)";
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  // Exact: INT64 extremes, +-inf, -0.0, a denormal, all 256 byte values in a blob, unicode.
  BindAndStep(ins, [&](sqlite3_stmt* s) {
    sqlite3_bind_text(s, 1, "max", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, "日本語 🎉", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, std::numeric_limits<int64_t>::max());
    sqlite3_bind_double(s, 4, std::numeric_limits<double>::infinity());
    sqlite3_bind_int64(s, 5, 1);
    sqlite3_bind_text(s, 6, "{\"k\": \"\\\\u0000 is text\"}", -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 7, all_bytes.data(), static_cast<int>(all_bytes.size()), SQLITE_STATIC);
  });
  BindAndStep(ins, [&](sqlite3_stmt* s) {
    sqlite3_bind_text(s, 1, "min", -1, SQLITE_STATIC);
    sqlite3_bind_null(s, 2);
    sqlite3_bind_int64(s, 3, std::numeric_limits<int64_t>::min());
    sqlite3_bind_double(s, 4, -std::numeric_limits<double>::infinity());
    sqlite3_bind_int64(s, 5, 0);
    sqlite3_bind_null(s, 6);
    sqlite3_bind_zeroblob(s, 7, 0);
  });
  BindAndStep(ins, [&](sqlite3_stmt* s) {
    sqlite3_bind_text(s, 1, "negzero", -1, SQLITE_STATIC);
    sqlite3_bind_null(s, 2);
    sqlite3_bind_null(s, 3);
    sqlite3_bind_double(s, 4, -0.0);
    sqlite3_bind_null(s, 5);
    sqlite3_bind_null(s, 6);
    sqlite3_bind_null(s, 7);
  });
  Sql("INSERT INTO v (id, r) VALUES ('denormal', 4.9406564584124654e-324)");
  // Misfits: NUL in text, invalid UTF-8, text in a BIGINT column, 1.5 in BIGINT, 2 in a
  // BOOLEAN, a \u0000 escape in JSON, text that is not JSON, inf in JSON.
  BindAndStep("INSERT INTO v (id, t) VALUES ('nul', ?)",
              [](sqlite3_stmt* s) { sqlite3_bind_text(s, 1, "a\0b", 3, SQLITE_STATIC); });
  BindAndStep("INSERT INTO v (id, t) VALUES ('badutf8', ?)",
              [](sqlite3_stmt* s) { sqlite3_bind_text(s, 1, "\xff\xfe", 2, SQLITE_STATIC); });
  Sql("INSERT INTO v (id, n) VALUES ('textint', 'twelve');"
      "INSERT INTO v (id, n) VALUES ('realint', 1.5);"
      "INSERT INTO v (id, flag) VALUES ('bool2', 2);"
      "INSERT INTO v (id, doc) VALUES ('jsonnul', '{\"a\": \"\\u0000\"}');"
      "INSERT INTO v (id, doc) VALUES ('notjson', 'not json');"
      "INSERT INTO v (id, doc) VALUES ('jsoninf', 9e999);");
  ASSERT_EQ(Capture().exit_code, 0);
  CliRun s = Ship();
  ASSERT_EQ(s.exit_code, 0) << s.err;

  EXPECT_EQ(Query("SELECT t, n::text, r::text, flag::text, doc->>'k', length(data), "
                  "md5(data) = md5(decode($1, 'hex')) FROM " +
                      Table("v") + " WHERE id = 'max'",
                  {std::string("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1"
                               "f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e"
                               "3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5"
                               "e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d"
                               "7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9"
                               "d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbc"
                               "bdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbd"
                               "cdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafb"
                               "fcfdfeff")}),
            (Rows{{"日本語 🎉", "9223372036854775807", "Infinity", "true", "\\u0000 is text", "256",
                   "t"}}));
  EXPECT_EQ(Query("SELECT n::text, r::text, flag::text, length(data) FROM " + Table("v") +
                  " WHERE id = 'min'"),
            (Rows{{"-9223372036854775808", "-Infinity", "false", "0"}}));
  // SQLite itself keeps -0.0 in a REAL column as the integer 0 (its small-integer storage of
  // reals): the copy has what SQLite has.
  EXPECT_EQ(Query("SELECT r::text FROM " + Table("v") + " WHERE id = 'negzero'"), (Rows{{"0"}}));
  EXPECT_EQ(Query("SELECT r = 4.9406564584124654e-324::float8 FROM " + Table("v") +
                  " WHERE id = 'denormal'"),
            (Rows{{"t"}}));

  struct Misfit {
    const char* id;
    const char* reason_part;
  };
  for (const Misfit& m :
       {Misfit{"nul", "NUL"}, Misfit{"badutf8", "UTF-8"}, Misfit{"textint", "bigint"},
        Misfit{"realint", "bigint"}, Misfit{"bool2", "boolean"}, Misfit{"jsonnul", "u0000"},
        Misfit{"notjson", "JSON"}, Misfit{"jsoninf", "json"}}) {
    SCOPED_TRACE(m.id);
    EXPECT_EQ(Query("SELECT count(*) FROM " + Table("v") + " WHERE id = $1", {m.id}),
              (Rows{{"0"}}));
    std::string reason = DeadLetterReason("v", std::string("[\"") + m.id + "\"]");
    EXPECT_NE(reason, "");
    std::string lower_reason, lower_part(m.reason_part);
    for (char c : reason) lower_reason += static_cast<char>(std::tolower(c));
    for (char& c : lower_part) c = static_cast<char>(std::tolower(c));
    EXPECT_NE(lower_reason.find(lower_part), std::string::npos) << reason;
  }
  CliRun v = Verify();
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;  // misfits are listed as dead letters
  EXPECT_EQ(Verify(/*strict=*/true).exit_code, 1);
  // A later good version of a dead-lettered row arrives.
  Sql("UPDATE v SET n = 12 WHERE id = 'textint'");
  ASSERT_EQ(Capture().exit_code, 0);
  ASSERT_EQ(Ship().exit_code, 0);
  EXPECT_EQ(Query("SELECT n FROM " + Table("v") + " WHERE id = 'textint'"), (Rows{{"12"}}));
}

TEST_P(ShipE2eTest, ShipsA64MiBRow) {
  Sql("CREATE TABLE chat (id TEXT PRIMARY KEY, chat JSON, title TEXT)");
  ASSERT_EQ(Provision().exit_code, 0);
  std::string big = "{\"messages\": \"" + std::string(64 << 20, 'x') + "\"}";
  BindAndStep("INSERT INTO chat VALUES ('big', ?, 't')", [&](sqlite3_stmt* s) {
    sqlite3_bind_text(s, 1, big.data(), static_cast<int>(big.size()), SQLITE_STATIC);
  });
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  EXPECT_EQ(Query("SELECT length(chat->>'messages') FROM " + Table("chat")),
            (Rows{{std::to_string(64 << 20)}}));
}

TEST_P(ShipE2eTest, ClientNamesPostgresOwnsAreRefused) {
  Sql("CREATE TABLE t (id TEXT PRIMARY KEY)");
  for (const char* name : {"public", "pg_catalog", "sync_metadata", "auth", "storage"}) {
    CliRun r = Owsync({"provision", "--client", name, "--host", host_->name, "--db", db_path()});
    EXPECT_NE(r.exit_code, 0) << name;
    EXPECT_NE(r.err.find(name), std::string::npos) << r.err;
  }
}

TEST_P(ShipE2eTest, TenantIntervalIsValidatedAndStored) {
  Sql("CREATE TABLE t (id TEXT PRIMARY KEY)");
  ASSERT_EQ(Provision().exit_code, 0);
  CliRun bad = Owsync({"tenant", "interval", client_, "sometimes"});
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  CliRun ok = Owsync({"tenant", "interval", client_, "hourly"});
  ASSERT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_EQ(Query("SELECT config->>'sync_interval' FROM sync_metadata.client_deployments WHERE "
                  "client_name = $1",
                  {client_}),
            (Rows{{"hourly"}}));
  EXPECT_NE(Owsync({"tenant", "interval", "nosuchtenant", "5m"}).exit_code, 0);
}

TEST_P(ShipE2eTest, UnprovisionedTableStopsTheTenantUntilMigrate) {
  Sql("CREATE TABLE a (id TEXT PRIMARY KEY, v TEXT); INSERT INTO a VALUES ('1', 'x')");
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  Sql("CREATE TABLE b (id TEXT PRIMARY KEY, v TEXT); INSERT INTO b VALUES ('2', 'y');"
      "ALTER TABLE a ADD COLUMN extra TEXT; UPDATE a SET extra = 'e'");
  ASSERT_EQ(Capture().exit_code, 0);
  CliRun s = Ship();
  EXPECT_NE(s.exit_code, 0);
  EXPECT_NE(s.err.find("provision --migrate"), std::string::npos) << s.err;
  EXPECT_EQ(
      Query("SELECT count(*) FROM sync_metadata.dead_letters WHERE client_name = $1", {client_}),
      (Rows{{"0"}}));
  ASSERT_EQ(Provision(/*migrate=*/true).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  EXPECT_EQ(Query("SELECT extra, _owsync_extra FROM " + Table("a")), (Rows{{"e", std::nullopt}}));
}

TEST_P(ShipE2eTest, RowChangedInPostgresIsKeptAndLoggedAsConflict) {
  Sql("CREATE TABLE note (id TEXT PRIMARY KEY, body TEXT); INSERT INTO note VALUES ('n', 'a')");
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  // Someone edits the row in PostgreSQL (as the host's role, like any other client would).
  auto conn = shipper::PgConnection::Connect(env_->clock(), host_->url,
                                             shipper::Deadline::After(env_->clock(), 10'000'000));
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn->Exec("UPDATE " + Table("note") + " SET body = 'edited in pg'",
                         shipper::Deadline::After(env_->clock(), 10'000'000))
                  .ok());
  Sql("UPDATE note SET body = 'b'");
  ASSERT_EQ(Capture().exit_code, 0);
  ASSERT_EQ(Ship().exit_code, 0);
  EXPECT_EQ(Query("SELECT body, _owsync_dirty FROM " + Table("note")),
            (Rows{{"edited in pg", "t"}}));
  EXPECT_EQ(Query("SELECT conflict_type, resolution_strategy, record_id, resolved_at IS NULL "
                  "FROM sync_metadata.conflict_log WHERE client_name = $1",
                  {client_}),
            (Rows{{"update_conflict", "manual", "[\"n\"]", "t"}}));
  EXPECT_EQ(Verify().exit_code, 0);
  EXPECT_EQ(Verify(/*strict=*/true).exit_code, 1);
}

TEST_P(ShipE2eTest, OutboxIdMismatchStopsTheTenantNamingRebase) {
  Sql("CREATE TABLE a (id TEXT PRIMARY KEY); INSERT INTO a VALUES ('1')");
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  Query("UPDATE sync_metadata.tenant_offsets SET outbox_id = 'another' WHERE client_name = $1",
        {client_});
  Sql("INSERT INTO a VALUES ('2')");
  ASSERT_EQ(Capture().exit_code, 0);
  CliRun s = Ship();
  EXPECT_NE(s.exit_code, 0);
  EXPECT_NE(s.err.find("tenant rebase"), std::string::npos) << s.err;
  EXPECT_EQ(Query("SELECT count(*) FROM " + Table("a")), (Rows{{"1"}}));
}

TEST_P(ShipE2eTest, ReplayOfACopiedOutboxBuildsTheSameTenantElsewhere) {
  Sql("CREATE TABLE a (id TEXT PRIMARY KEY, v TEXT); INSERT INTO a VALUES ('1', 'x'), ('2', "
      "'y'); DELETE FROM a WHERE id = '1'");
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_EQ(Capture().exit_code, 0);
  CliRun r = Owsync({"replay", outbox_dir(), "--client", client_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("acked offset"), std::string::npos) << r.out;
  EXPECT_EQ(Verify().exit_code, 0);
  // Replaying again changes nothing.
  ASSERT_EQ(Owsync({"replay", outbox_dir(), "--client", client_}).exit_code, 0);
  // Row 1 was deleted before the first capture: the snapshot never carried it.
  EXPECT_EQ(Query("SELECT id, v, _owsync_deleted_at IS NULL FROM " + Table("a") + " ORDER BY id"),
            (Rows{{"2", "y", "t"}}));
}

// Open WebUI's upgrade rebuilds tables under a running capture (new columns, a new table, config
// re-keyed from id to "key"): shipping stops naming `provision --migrate`, never dead-letters
// or skips; after the migration everything converges.
TEST_P(ShipE2eTest, OpenWebUiUpgradeMidStreamStopsForMigrateThenConverges) {
  ASSERT_NO_FATAL_FAILURE(InitFromFixture("v0.6.31"));
  ASSERT_EQ(Owsync({"workload", "--db", db_path(), "--ops", "200", "--seed", "3"}).exit_code, 0);
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  auto upgrade = cli::WorkloadGenerator::FixtureSql("upgrade-rebuilds");
  ASSERT_TRUE(upgrade.ok());
  // The upgrade reads the newest config row as a JSON object (the workload's odd values may
  // have put something else there; the application never would).
  Sql("UPDATE config SET data = '{\"repaired\": true}' WHERE id = (SELECT max(id) FROM config)");
  Sql(*upgrade);
  ASSERT_EQ(Owsync({"workload", "--db", db_path(), "--ops", "200", "--seed", "4"}).exit_code, 0);
  ASSERT_EQ(Capture().exit_code, 0);
  CliRun stopped = Ship();
  EXPECT_NE(stopped.exit_code, 0);
  EXPECT_NE(stopped.out.find("provision --migrate"), std::string::npos) << stopped.out;
  CliRun migrate = Provision(/*migrate=*/true);
  ASSERT_EQ(migrate.exit_code, 0) << migrate.out;
  EXPECT_NE(migrate.out.find("config__owsync_old_"), std::string::npos) << migrate.out;
  ASSERT_EQ(
      Owsync({"capture", "--db", db_path(), "--outbox", outbox_dir(), "--once", "--resnapshot"})
          .exit_code,
      0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  EXPECT_EQ(Query("SELECT count(*) > 0 FROM " + Table("api_key")), (Rows{{"t"}}));
  EXPECT_EQ(Query("SELECT count(*) FROM sync_metadata.dead_letters WHERE client_name = $1 AND "
                  "reason LIKE '%provision%'",
                  {client_}),
            (Rows{{"0"}}));
}

INSTANTIATE_TEST_SUITE_P(Paths, ShipE2eTest, ::testing::Values(false, true),
                         [](const auto& param_info) {
                           return std::string(param_info.param ? "ViaPgBouncer" : "Direct");
                         });

class ShipFixtureTest : public ShipTestFixture,
                        public ::testing::WithParamInterface<std::tuple<const char*, bool>> {
 protected:
  bool UsePgBouncer() const override { return std::get<1>(GetParam()); }
  void CaptureShipVerify() {
    CliRun c = Capture();
    ASSERT_EQ(c.exit_code, 0) << c.out;
    CliRun s = Ship();
    ASSERT_EQ(s.exit_code, 0) << s.out;
    CliRun v = Verify();
    ASSERT_EQ(v.exit_code, 0) << v.out;
  }
};

TEST_P(ShipFixtureTest, OpenWebUiWorkloadConverges) {
  ASSERT_NO_FATAL_FAILURE(InitFromFixture(std::get<0>(GetParam())));
  CliRun w = Owsync({"workload", "--db", db_path(), "--ops", "300", "--seed", "7"});
  ASSERT_EQ(w.exit_code, 0) << w.err;
  ASSERT_EQ(Provision().exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
  // INSERT OR REPLACE collisions through UNIQUE columns delete rows without delete triggers:
  // capture's BEFORE triggers see them, no re-snapshot is needed.
  ASSERT_EQ(Owsync({"workload", "--db", db_path(), "--ops", "300", "--seed", "8"}).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(CaptureShipVerify());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ShipFixtureTest,
                         ::testing::Combine(::testing::Values("v0.6.31", "v0.11.0"),
                                            ::testing::Values(false, true)),
                         [](const auto& param_info) {
                           std::string n = std::get<0>(param_info.param);
                           for (char& c : n) c = c == '.' ? '_' : c;
                           return n + (std::get<1>(param_info.param) ? "_ViaPgBouncer" : "");
                         });

}  // namespace
}  // namespace owsync::tests
