// `owsync verify` against a real PostgreSQL and real SQLite files. The PostgreSQL side is
// built by hand here (provision-like DDL from the SQLite schema, rows inserted with SQL), so
// these tests do not depend on the shipper; the runtime connection is a host role registered
// with `db add-host`, as in production.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "capture/schema_inspector.h"
#include "capture/sql_quote.h"
#include "capture/sqlite_db.h"
#include "cli/verifier.h"
#include "outbox/outbox_writer.h"
#include "shipper/pg_connection.h"
#include "shipper/pg_type.h"
#include "shipper/record_key.h"
#include "tests/cli_runner.h"
#include "tests/pg_test_env.h"
#include "util/scoped_temp_dir.h"

namespace owsync::cli {
namespace {

using capture::QuoteIdentifier;
using outbox::Value;
using shipper::Deadline;
using shipper::PgConnection;
using tests::CliRun;
using tests::PgTestEnv;
using tests::RunCli;

class VerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = PgTestEnv::Get();
    ASSERT_NE(env_, nullptr);
    auto db = env_->CreateDatabase("verify");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    auto host = env_->AddHost(db_, "vhost");
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    host_ = *host;
    client_ = env_->UniqueName("vc");
    auto tmp = ScopedTempDir::Create("owsync-verify-");
    ASSERT_TRUE(tmp.ok());
    tmp_ = std::make_unique<ScopedTempDir>(std::move(*tmp));
    sqlite_path_ = tmp_->Child("webui.db");
    capture::SqliteDbOptions o;
    o.create = true;
    auto sdb = capture::SqliteDb::Open(sqlite_path_, o);
    ASSERT_TRUE(sdb.ok()) << sdb.status().ToString();
    sqlite_ = std::make_unique<capture::SqliteDb>(std::move(*sdb));
    auto admin = env_->ConnectAdmin(db_.admin_url);
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    admin_ = std::make_unique<PgConnection>(std::move(*admin));
    const std::string schema = QuoteIdentifier(client_);
    Pg("INSERT INTO sync_metadata.client_deployments (host_id, client_name, container_name, "
       "sync_enabled) VALUES ('" +
       host_.host_id + "', '" + client_ + "', 'openwebui-" + client_ +
       "', true); INSERT INTO sync_metadata.tenant_offsets (client_name, deployment_id, "
       "acked_offset) SELECT client_name, deployment_id, 0 FROM "
       "sync_metadata.client_deployments WHERE client_name = '" +
       client_ + "'; CREATE SCHEMA " + schema + "; GRANT USAGE ON SCHEMA " + schema + " TO " +
       QuoteIdentifier(host_.role));
  }

  void Sqlite(const std::string& sql) {
    Status s = sqlite_->Exec(sql);
    ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << sql;
  }
  void Pg(const std::string& sql) {
    auto res = admin_->Exec(sql, Deadline::After(env_->clock(), 30'000'000));
    ASSERT_TRUE(res.ok()) << res.status().ToString() << "\n" << sql;
  }
  std::string Target(const std::string& table) {
    return QuoteIdentifier(client_) + "." + QuoteIdentifier(table);
  }
  // What `owsync provision` creates for a SQLite table: same names, PgTypeForDeclared types,
  // the table key as primary key, the sync columns; SELECT granted to the host role.
  void Provision(const std::string& table, const std::vector<std::string>& skip_columns = {}) {
    auto info = capture::SchemaInspector::InspectTable(sqlite_.get(), table, false);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    std::string ddl = "CREATE TABLE " + Target(table) + " (";
    for (const outbox::Column& c : info->columns) {
      if (std::find(skip_columns.begin(), skip_columns.end(), c.name) != skip_columns.end()) {
        continue;
      }
      ddl += QuoteIdentifier(c.name) + " " +
             std::string(shipper::PgTypeSql(shipper::PgTypeForDeclared(c.declared_type))) +
             (c.key_position > 0 ? " NOT NULL" : "") + ", ";
    }
    ddl +=
        "_owsync_offset bigint NOT NULL, _owsync_deleted_at timestamptz, _owsync_dirty boolean "
        "NOT NULL DEFAULT false, _owsync_extra jsonb, PRIMARY KEY (" +
        capture::QuoteIdentifierList(info->KeyNames()) + ")); GRANT SELECT, INSERT, UPDATE ON " +
        Target(table) + " TO " + QuoteIdentifier(host_.role);
    Pg(ddl);
  }
  VerifyReport Verify(const std::string& outbox_dir = "") {
    VerifyOptions o;
    o.db_path = sqlite_path_;
    o.client = client_;
    o.url = host_.url;
    o.outbox_dir = outbox_dir;
    o.max_report = 10;
    Verifier verifier(env_->fs(), env_->clock(), env_->logger());
    auto report = verifier.Run(o);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? std::move(*report) : VerifyReport{};
  }
  const VerifyTable* Find(const VerifyReport& r, const std::string& table) {
    for (const VerifyTable& t : r.tables) {
      if (t.table == table) return &t;
    }
    ADD_FAILURE() << "no table " << table << " in the report";
    return nullptr;
  }
  std::string Describe(const VerifyReport& r) {
    std::string s;
    for (const VerifyTable& t : r.tables) {
      s += t.table + ": rows " + std::to_string(t.rows) + " equal " + std::to_string(t.equal) +
           " diff " + std::to_string(t.differences) + " dl " + std::to_string(t.dead_letters) +
           " conflicts " + std::to_string(t.conflicts) + " " + t.problem + "\n";
      for (const VerifyRow& row : t.rows_reported) {
        s += "  " + row.kind + " " + row.record_key + " [" + row.tolerated + "] " + row.detail +
             "\n";
      }
    }
    return s;
  }
  // Runs `owsync verify <args>` through the CLI with DATABASE_URL set to the host's URL.
  int Command(std::vector<std::string> args, std::string* out) {
    args.insert(args.begin(), "verify");
    CliRun run =
        RunCli(args, env_->fs(), env_->clock(), env_->logger(), {{"DATABASE_URL", host_.url}});
    *out = run.out + run.err;
    return run.exit_code;
  }

  // A table with one column of every mapped type, the same rows on both sides.
  void MakeEqualChatTable() {
    Sqlite(
        "CREATE TABLE chat (id TEXT PRIMARY KEY, title TEXT, n INTEGER, score REAL, meta JSON, "
        "data BLOB, flag BOOLEAN, amount NUMERIC);"
        "INSERT INTO chat VALUES ('a', 'hello', 1, 1.5, '{\"a\": [1, 2], \"b\": {\"c\": null}}', "
        "x'00ff10', 1, 12.5);"
        "INSERT INTO chat VALUES ('b', 'grüße 😀 \"q\" \\ tab\tnl\n', -9223372036854775808, "
        "0.0, '[]', x'', 0, 3);"
        "INSERT INTO chat VALUES ('c', NULL, 9223372036854775807, 1e308 * 10, NULL, NULL, "
        "NULL, NULL);"
        "INSERT INTO chat VALUES ('d', '', 0, -1e308 * 10, '\"s\"', x'5c', 1, 0.1);"
        "INSERT INTO chat VALUES ('e', 'nan', 7, 0.1, '{\"z\":1,\"a\":2}', NULL, 0, NULL);");
    // SQLite holds neither NaN (it stores NULL instead) nor -0.0 in a REAL column (whole
    // numbers are stored as integers): those appear on the PostgreSQL side only, below.
    Provision("chat");
    Pg("INSERT INTO " + Target("chat") +
       " (id, title, n, score, meta, data, flag, amount, _owsync_offset) VALUES "
       "('a', 'hello', 1, 1.5, '{\"b\": {\"c\": null}, \"a\": [1,2]}', '\\x00ff10', true, 12.5, "
       "1), "
       "('b', E'grüße 😀 \"q\" \\\\ tab\\tnl\\n', -9223372036854775808, '0', '[]', '\\x', "
       "false, 3, 2), "
       "('c', NULL, 9223372036854775807, 'Infinity', NULL, NULL, NULL, NULL, 3), "
       "('d', '', 0, '-Infinity', '\"s\"', '\\x5c', true, 0.1, 4), "
       "('e', 'nan', 7, 0.1, '{\"a\":2, \"z\":1}', NULL, false, NULL, 5)");
  }

  PgTestEnv* env_ = nullptr;
  tests::TestDatabase db_;
  tests::TestHost host_;
  std::string client_;
  std::unique_ptr<ScopedTempDir> tmp_;
  std::string sqlite_path_;
  std::unique_ptr<capture::SqliteDb> sqlite_;
  std::unique_ptr<PgConnection> admin_;
};

TEST_F(VerifierTest, EqualCopyIsEqualIncludingInfinitiesInt64ExtremesUnicodeAndJsonKeyOrder) {
  MakeEqualChatTable();
  VerifyReport r = Verify();
  const VerifyTable* t = Find(r, "chat");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->rows, 5) << Describe(r);
  EXPECT_EQ(t->equal, 5) << Describe(r);
  EXPECT_EQ(t->differences, 0) << Describe(r);
  EXPECT_EQ(r.ExitCode(false), 0);
  EXPECT_EQ(r.ExitCode(true), 0);
}

TEST_F(VerifierTest, ChangedMissingAndExtraRowsAreDifferencesTombstonesAreIgnored) {
  MakeEqualChatTable();
  Pg("UPDATE " + Target("chat") +
     " SET title = 'HELLO' WHERE id = 'a';"
     "DELETE FROM " +
     Target("chat") +
     " WHERE id = 'b';"
     "UPDATE " +
     Target("chat") +
     " SET _owsync_deleted_at = now() WHERE id = 'c';"
     "INSERT INTO " +
     Target("chat") +
     " (id, title, _owsync_offset) VALUES ('x', 'extra', 9);"
     "INSERT INTO " +
     Target("chat") +
     " (id, title, _owsync_offset, _owsync_deleted_at) "
     "VALUES ('y', 'gone', 9, now())");
  VerifyReport r = Verify();
  const VerifyTable* t = Find(r, "chat");
  ASSERT_NE(t, nullptr);
  // a differs; b is missing, c is tombstoned (alive in SQLite); x is extra; y is a tombstone
  // of a row SQLite does not have either: ignored.
  EXPECT_EQ(t->differences, 4) << Describe(r);
  EXPECT_EQ(t->equal, 2) << Describe(r);
  EXPECT_EQ(r.ExitCode(false), 1);
  std::map<std::string, VerifyRow> by_key;
  for (const VerifyRow& row : t->rows_reported) by_key[row.record_key] = row;
  ASSERT_EQ(by_key.size(), 4u) << Describe(r);
  EXPECT_EQ(by_key["[\"a\"]"].kind, "different");
  EXPECT_EQ(by_key["[\"a\"]"].detail, "title: sqlite 'hello', postgres 'HELLO'");
  EXPECT_EQ(by_key["[\"b\"]"].kind, "missing");
  EXPECT_EQ(by_key["[\"c\"]"].kind, "tombstoned");
  EXPECT_EQ(by_key["[\"x\"]"].kind, "extra");
  EXPECT_EQ(by_key.count("[\"y\"]"), 0u);
}

TEST_F(VerifierTest, MinusZeroAndNanDifferFromSqliteValuesAndJsonComparesSemantically) {
  MakeEqualChatTable();
  Pg("UPDATE " + Target("chat") +
     " SET score = '-0' WHERE id = 'b';"
     "UPDATE " +
     Target("chat") +
     " SET score = 'NaN' WHERE id = 'c';"
     "UPDATE " +
     Target("chat") + " SET meta = '{\"z\": 1, \"a\": 3}' WHERE id = 'e'");
  VerifyReport r = Verify();
  const VerifyTable* t = Find(r, "chat");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->differences, 3) << Describe(r);
  std::map<std::string, std::string> detail;
  for (const VerifyRow& row : t->rows_reported) {
    EXPECT_EQ(row.kind, "different");
    detail[row.record_key] = row.detail;
  }
  EXPECT_EQ(detail["[\"b\"]"], "score: sqlite '0', postgres '-0'");
  EXPECT_EQ(detail["[\"c\"]"], "score: sqlite 'Infinity', postgres 'NaN'");
  EXPECT_EQ(detail["[\"e\"]"],
            "meta: sqlite '{\"a\": 2, \"z\": 1}', postgres '{\"a\": 3, \"z\": 1}'");
}

TEST_F(VerifierTest, RefusedValueIsToleratedOnlyWithItsDeadLetterAndFailsUnderStrict) {
  Sqlite(
      "CREATE TABLE message (id INTEGER PRIMARY KEY, body TEXT, n INTEGER);"
      "INSERT INTO message VALUES (1, 'ok', 1), (2, 'x', 'not a number'), (3, 'fine', 3);");
  Provision("message");
  // Row 2 never reached PostgreSQL: its n does not fit bigint.
  Pg("INSERT INTO " + Target("message") +
     " (id, body, n, _owsync_offset) VALUES (1, 'ok', 1, 1), (3, 'fine', 3, 3)");
  VerifyReport r = Verify();
  const VerifyTable* t = Find(r, "message");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->differences, 1) << Describe(r);  // refused and no dead letter
  ASSERT_EQ(t->rows_reported.size(), 1u);
  EXPECT_EQ(t->rows_reported[0].kind, "refused");
  EXPECT_EQ(t->rows_reported[0].record_key, "[2]");
  EXPECT_NE(t->rows_reported[0].detail.find("column n"), std::string::npos);
  EXPECT_EQ(r.ExitCode(false), 1);

  Pg("INSERT INTO sync_metadata.dead_letters (client_name, table_name, record_key, "
     "outbox_offset, raw_record, reason) VALUES ('" +
     client_ + "', 'message', '" + shipper::RecordKeyJson({Value::Integer(2)}) +
     "', 2, '\\x00', 'text does not fit bigint')");
  r = Verify();
  t = Find(r, "message");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->differences, 0) << Describe(r);
  EXPECT_EQ(t->dead_letters, 1) << Describe(r);
  ASSERT_EQ(t->rows_reported.size(), 1u);
  EXPECT_EQ(t->rows_reported[0].tolerated, "dead letter");
  EXPECT_EQ(t->rows_reported[0].tolerated_reason, "text does not fit bigint");
  EXPECT_EQ(r.ExitCode(false), 0);
  EXPECT_EQ(r.ExitCode(true), 1);

  // A retried dead letter no longer excuses the row.
  Pg("UPDATE sync_metadata.dead_letters SET retried_at = now()");
  EXPECT_EQ(Verify().ExitCode(false), 1);
}

TEST_F(VerifierTest, PendingConflictsExcuseDifferingAndExtraRows) {
  Sqlite(
      "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT);"
      "INSERT INTO note VALUES (1, 'sqlite'), (2, 'same');");
  Provision("note");
  // Row 1 was changed in PostgreSQL; row 3 was deleted in SQLite but is dirty in PostgreSQL.
  Pg("INSERT INTO " + Target("note") +
     " (id, body, _owsync_offset, _owsync_dirty) VALUES (1, 'edited in pg', 1, true), "
     "(2, 'same', 2, false), (3, 'kept', 3, true);"
     "INSERT INTO sync_metadata.conflict_log (client_name, table_name, record_id, "
     "conflict_type, resolution_strategy) VALUES ('" +
     client_ + "', 'note', '[1]', 'update_conflict', 'manual'), ('" + client_ +
     "', 'note', '[3]', 'delete_conflict', 'manual'), ('" + client_ +
     "', 'note', '[2]', 'update_conflict', 'manual')");
  VerifyReport r = Verify();
  const VerifyTable* t = Find(r, "note");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->differences, 0) << Describe(r);
  EXPECT_EQ(t->conflicts, 2) << Describe(r);  // row 2 is equal: its conflict is not counted
  EXPECT_EQ(r.ExitCode(false), 0);
  EXPECT_EQ(r.ExitCode(true), 1);
  Pg("UPDATE sync_metadata.conflict_log SET resolved_at = now() WHERE record_id = '[3]'");
  r = Verify();
  t = Find(r, "note");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->differences, 1) << Describe(r);
  EXPECT_EQ(t->conflicts, 1) << Describe(r);
}

TEST_F(VerifierTest, OddTableAndColumnNamesAndCompositeKeys) {
  Sqlite(
      "CREATE TABLE \"user\" (id TEXT PRIMARY KEY, \"group\" TEXT, \"sp ace\" INTEGER);"
      "CREATE TABLE \"we\"\"ird\" (a INTEGER NOT NULL, b TEXT NOT NULL, \"va'l\" REAL, "
      "PRIMARY KEY (a, b));"
      "INSERT INTO \"user\" VALUES ('u1', 'admins', 1), ('u2', NULL, 2);"
      "INSERT INTO \"we\"\"ird\" VALUES (1, 'x', 0.5), (1, 'y', 1.5), (2, 'x', NULL);");
  Provision("user");
  Provision("we\"ird");
  Pg("INSERT INTO " + Target("user") +
     " (id, \"group\", \"sp ace\", _owsync_offset) VALUES ('u1', 'admins', 1, 1), "
     "('u2', NULL, 2, 2);"
     "INSERT INTO " +
     Target("we\"ird") +
     " (a, b, \"va'l\", _owsync_offset) VALUES (1, 'x', 0.5, 3), (1, 'y', 1.5, 4), "
     "(2, 'x', NULL, 5)");
  VerifyReport r = Verify();
  EXPECT_EQ(r.ExitCode(true), 0) << Describe(r);
  EXPECT_EQ(Find(r, "we\"ird")->equal, 3);

  Pg("UPDATE " + Target("we\"ird") + " SET \"va'l\" = 2.5 WHERE a = 1 AND b = 'y'");
  r = Verify();
  const VerifyTable* t = Find(r, "we\"ird");
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->rows_reported.size(), 1u) << Describe(r);
  EXPECT_EQ(t->rows_reported[0].record_key, "[1, \"y\"]");
  EXPECT_EQ(t->rows_reported[0].detail, "va'l: sqlite '1.5', postgres '2.5'");
  EXPECT_EQ(Find(r, "user")->differences, 0);
}

TEST_F(VerifierTest, ColumnsTheTargetLacksAreComparedWithOwsyncExtra) {
  Sqlite(
      "CREATE TABLE chat (id TEXT PRIMARY KEY, title TEXT, added INTEGER, tags TEXT);"
      "INSERT INTO chat VALUES ('a', 't', 5, 'x'), ('b', 't', NULL, NULL);");
  Provision("chat", {"added", "tags"});
  Pg("INSERT INTO " + Target("chat") +
     " (id, title, _owsync_offset, _owsync_extra) VALUES "
     "('a', 't', 1, '{\"added\": 5, \"tags\": \"x\"}'), ('b', 't', 2, NULL)");
  VerifyReport r = Verify();
  const VerifyTable* t = Find(r, "chat");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->differences, 0) << Describe(r);
  EXPECT_EQ(t->extra_columns, (std::vector<std::string>{"added", "tags"}));
  Pg("UPDATE " + Target("chat") +
     " SET _owsync_extra = '{\"added\": 6, \"tags\": \"x\"}' WHERE id = 'a'");
  r = Verify();
  t = Find(r, "chat");
  EXPECT_EQ(t->differences, 1) << Describe(r);
}

TEST_F(VerifierTest, UnprovisionedTableIsADifferenceUnkeyedTableIsNotReplicated) {
  Sqlite(
      "CREATE TABLE provisioned (id INTEGER PRIMARY KEY);"
      "CREATE TABLE later (id INTEGER PRIMARY KEY);"
      "CREATE TABLE legacy (name TEXT, value TEXT);"
      "INSERT INTO later VALUES (1);");
  Provision("provisioned");
  VerifyReport r = Verify();
  EXPECT_FALSE(Find(r, "legacy")->replicated);
  EXPECT_NE(Find(r, "later")->problem.find("provision --migrate"), std::string::npos);
  EXPECT_EQ(r.Differences(), 1) << Describe(r);
  EXPECT_EQ(r.ExitCode(false), 1);
}

TEST_F(VerifierTest, RecordKeyJsonIsWhatPostgresJsonBuildArraySpells) {
  struct Case {
    Value value;
    std::string sql_type;
    std::string text;  // the value as PostgreSQL input
  };
  std::vector<Case> cases = {
      {Value::Integer(std::numeric_limits<int64_t>::min()), "bigint", "-9223372036854775808"},
      {Value::Text("a\"b\\c\n\x01\x1f é 😀 /"), "text", "a\"b\\c\n\x01\x1f é 😀 /"},
      {Value::Blob(std::string("\x00\xab", 2)), "bytea", "\\x00ab"},
  };
  for (double d : {0.1, 1.0, -0.0, 1e14, 1e15, 123456789012345.6, 1e-4, 1e-5, 1.5e-7, 1e300, 5e-324,
                   std::numeric_limits<double>::max(), std::nan(""), HUGE_VAL, -HUGE_VAL, -2.5e-300,
                   1234.5678}) {
    cases.push_back({Value::Real(d), "float8", shipper::PgFloat8Text(d)});
  }
  Pg("SET extra_float_digits = 1");
  for (const Case& c : cases) {
    auto res = admin_->ExecParams("SELECT json_build_array($1::" + c.sql_type + ", 7)::text",
                                  {c.text}, Deadline::After(env_->clock(), 10'000'000));
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(shipper::RecordKeyJson({c.value, Value::Integer(7)}), res->GetValue(0, 0)) << c.text;
    if (c.sql_type == "float8") {
      auto out = admin_->ExecParams("SELECT $1::float8::text", {c.text},
                                    Deadline::After(env_->clock(), 10'000'000));
      ASSERT_TRUE(out.ok());
      EXPECT_EQ(shipper::PgFloat8Text(c.value.real), out->GetValue(0, 0));
    }
  }
}

TEST_F(VerifierTest, CommandWaitsForTheOutboxAndExitsThreeWhenNotCaughtUp) {
  MakeEqualChatTable();
  const std::string dir = tmp_->Child("outbox");
  std::string outbox_id;
  {
    auto w = outbox::OutboxWriter::Open(env_->fs(), env_->clock(), dir, {});
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    for (int i = 0; i < 3; ++i) {
      outbox::Record rec;
      rec.type = outbox::RecordType::kUpsert;
      rec.table = "chat";
      rec.key = {Value::Text("a")};
      ASSERT_TRUE((*w)->Append(&rec).ok());
    }
    ASSERT_TRUE((*w)->Commit().ok());
    outbox_id = (*w)->outbox_id();
  }
  std::string out;
  EXPECT_EQ(Command({"--db", sqlite_path_, "--client", client_, "--outbox", dir}, &out), 3) << out;
  EXPECT_NE(out.find("not caught up: acked 0 of 3"), std::string::npos) << out;

  Pg("UPDATE sync_metadata.tenant_offsets SET acked_offset = 3, outbox_id = 'other' WHERE "
     "client_name = '" +
     client_ + "'");
  EXPECT_EQ(Command({"--db", sqlite_path_, "--client", client_, "--outbox", dir}, &out), 3) << out;
  EXPECT_NE(out.find("tenant rebase"), std::string::npos) << out;

  Pg("UPDATE sync_metadata.tenant_offsets SET acked_offset = 3, outbox_id = '" + outbox_id +
     "' WHERE client_name = '" + client_ + "'");
  EXPECT_EQ(
      Command({"--db", sqlite_path_, "--client", client_, "--outbox", dir, "--wait", "1"}, &out), 0)
      << out;
  EXPECT_NE(out.find("table chat: 5 rows compared, 5 equal, 0 differences"), std::string::npos)
      << out;
  EXPECT_NE(out.find("EQUAL"), std::string::npos) << out;

  Pg("UPDATE " + Target("chat") + " SET n = 2 WHERE id = 'a'");
  EXPECT_EQ(Command({"--db", sqlite_path_, "--client", client_}, &out), 1) << out;
  EXPECT_NE(out.find("different [\"a\"]: n: sqlite '1', postgres '2'"), std::string::npos) << out;
}

TEST_F(VerifierTest, CommandRefusesAPasswordOnTheCommandLine) {
  std::string out;
  EXPECT_EQ(Command({"--db", sqlite_path_, "--client", client_, "--to",
                     "postgresql://u:secret@localhost/db"},
                    &out),
            2);
  EXPECT_NE(out.find("contains a password"), std::string::npos) << out;
}

TEST_F(VerifierTest, TablesLargerThanOneCopyChunkAreStreamed) {
  // ~4.5 MB of rows: several 1 MiB COPY chunks.
  Sqlite(
      "CREATE TABLE big (id INTEGER PRIMARY KEY, body TEXT);"
      "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000) "
      "INSERT INTO big SELECT i, printf('%0220d', i) FROM c;");
  Provision("big");
  Pg("INSERT INTO " + Target("big") +
     " (id, body, _owsync_offset) SELECT i, lpad(i::text, 220, '0'), i FROM "
     "generate_series(1, 20000) i");
  VerifyReport r = Verify();
  EXPECT_EQ(Find(r, "big")->equal, 20000) << Describe(r);
  EXPECT_EQ(r.ExitCode(true), 0);
  Pg("UPDATE " + Target("big") + " SET body = 'changed' WHERE id = 12345");
  r = Verify();
  const VerifyTable* t = Find(r, "big");
  EXPECT_EQ(t->equal, 19999) << Describe(r);
  ASSERT_EQ(t->rows_reported.size(), 1u) << Describe(r);
  EXPECT_EQ(t->rows_reported[0].record_key, "[12345]");
  EXPECT_NE(t->rows_reported[0].detail.find("... (220 chars)"), std::string::npos)
      << t->rows_reported[0].detail;
}

TEST_F(VerifierTest, TextKeyWithANulByteIsRefusedAndMatchedToItsDeadLetterByHexKey) {
  Sqlite(
      "CREATE TABLE tag (name TEXT PRIMARY KEY, n INTEGER);"
      "INSERT INTO tag VALUES ('ok', 1), (CAST(x'610062' AS TEXT), 2);");
  Provision("tag");
  Pg("INSERT INTO " + Target("tag") + " (name, n, _owsync_offset) VALUES ('ok', 1, 1)");
  VerifyReport r = Verify();
  const VerifyTable* t = Find(r, "tag");
  ASSERT_EQ(t->rows_reported.size(), 1u) << Describe(r);
  EXPECT_EQ(t->rows_reported[0].kind, "refused");
  EXPECT_EQ(t->rows_reported[0].record_key, "[\"\\\\x610062\"]");
  EXPECT_EQ(r.ExitCode(false), 1);
  Pg("INSERT INTO sync_metadata.dead_letters (client_name, table_name, record_key, "
     "outbox_offset, raw_record, reason) VALUES ('" +
     client_ + "', 'tag', '" + shipper::RecordKeyJson({Value::Text(std::string("a\0b", 3))}) +
     "', 2, '\\x00', 'NUL byte in text')");
  r = Verify();
  EXPECT_EQ(Find(r, "tag")->dead_letters, 1) << Describe(r);
  EXPECT_EQ(r.ExitCode(false), 0);
}

TEST_F(VerifierTest, AnotherHostsRoleCannotVerifyThisTenant) {
  Sqlite("CREATE TABLE t (id INTEGER PRIMARY KEY);");
  Provision("t");
  auto other = env_->AddHost(db_, "vother");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  VerifyOptions o;
  o.db_path = sqlite_path_;
  o.client = client_;
  o.url = other->url;
  Verifier verifier(env_->fs(), env_->clock(), env_->logger());
  auto report = verifier.Run(o);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kFailedPrecondition) << report.status().ToString();
  EXPECT_NE(report.status().message().find("another host serves it"), std::string::npos);
}

}  // namespace
}  // namespace owsync::cli
