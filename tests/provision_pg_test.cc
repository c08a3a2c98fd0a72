// `owsync provision` end to end: SQLite databases built from both Open WebUI fixtures
// provisioned from --db and from --outbox, checked table by table against the SQLite schema in
// the PostgreSQL catalog; the second run is a no-op; --migrate via the CLI; refusals; and
// `owsync db check` still passes afterwards.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "capture/schema_inspector.h"
#include "capture/sqlite_db.h"
#include "capture/sqlite_txn.h"
#include "outbox/outbox_writer.h"
#include "shipper/pg_type.h"
#include "tests/cli_runner.h"
#include "tests/pg_test_env.h"
#include "util/scoped_temp_dir.h"

namespace owsync {
namespace {

using shipper::Deadline;
using tests::PgTestEnv;

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(OWSYNC_FIXTURE_DIR) + "/" + name + ".sql");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ProvisionCliTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_ = PgTestEnv::Get();
    ASSERT_NE(env_, nullptr);
    auto db = env_->CreateDatabase("provcli");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    auto host = env_->AddHost(db_, "provcli-host");
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    host_ = *host;
    auto tmp = ScopedTempDir::Create("owsync-provcli-");
    ASSERT_TRUE(tmp.ok());
    tmp_.emplace(std::move(*tmp));
    client_ = env_->UniqueName("tenant");
    sqlite_path_ = tmp_->Child("webui.db");
    capture::SqliteDbOptions o;
    o.create = true;
    auto sqlite = capture::SqliteDb::Open(sqlite_path_, o);
    ASSERT_TRUE(sqlite.ok()) << sqlite.status().ToString();
    const std::string sql = ReadFixture(GetParam());
    ASSERT_FALSE(sql.empty());
    ASSERT_TRUE(sqlite->Exec(sql).ok());
  }
  tests::CliRun Cli(std::vector<std::string> args) {
    return tests::RunCli(args, env_->fs(), env_->clock(), env_->logger(),
                         {{"ADMIN_DATABASE_URL", db_.admin_url}, {"DATABASE_URL", db_.admin_url}});
  }
  std::vector<std::string> ProvisionArgs(std::vector<std::string> extra) {
    std::vector<std::string> args = {"provision", "--client", client_, "--host", host_.name};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  capture::Catalog Inspect() {
    auto sqlite = capture::SqliteDb::Open(sqlite_path_, {});
    EXPECT_TRUE(sqlite.ok());
    auto txn = capture::SqliteTxn::BeginRead(&*sqlite);
    EXPECT_TRUE(txn.ok());
    auto catalog = capture::SchemaInspector::Inspect(&*sqlite, capture::TableFilter());
    EXPECT_TRUE(catalog.ok()) << catalog.status().ToString();
    return *catalog;
  }
  // Rows of `sql` as "a|b|c" lines.
  std::vector<std::string> Rows(const std::string& sql,
                                const std::vector<std::optional<std::string>>& params = {}) {
    auto conn = env_->ConnectAdmin(db_.admin_url);
    EXPECT_TRUE(conn.ok());
    auto res = conn->ExecParams(sql, params, Deadline::After(env_->clock(), 30'000'000));
    EXPECT_TRUE(res.ok()) << sql << ": " << res.status().ToString();
    std::vector<std::string> rows;
    if (!res.ok()) return rows;
    for (int r = 0; r < res->rows(); ++r) {
      std::string line;
      for (int c = 0; c < res->columns(); ++c) {
        line += (c ? "|" : "") + std::string(res->IsNull(r, c) ? "<null>" : res->GetValue(r, c));
      }
      rows.push_back(line);
    }
    return rows;
  }
  // Every replicable SQLite table is in PostgreSQL with its columns in order, mapped types,
  // NOT NULL exactly on the key, the key as primary key, the sync columns, the trigger and the
  // host role's grants; nothing else is there.
  void ExpectSchemaMatches(const capture::Catalog& catalog) {
    std::vector<std::string> expected_tables = {"_owsync_tables"};
    for (const capture::TableInfo* t : catalog.Replicable()) {
      expected_tables.push_back(t->name);
      std::vector<std::string> want;
      for (const outbox::Column& c : t->columns) {
        want.push_back(
            c.name + "|" +
            std::string(shipper::PgTypeSql(shipper::PgTypeForDeclared(c.declared_type))) + "|" +
            (c.key_position > 0 ? "t" : "f"));
      }
      // Columns added later (--migrate) sit after the sync columns: compare both in order.
      const std::vector<std::string> sync = {"_owsync_offset|bigint|t",
                                             "_owsync_deleted_at|timestamp with time zone|f",
                                             "_owsync_dirty|boolean|t", "_owsync_extra|jsonb|f"};
      const std::string rel = "\"" + client_ + "\"." + "\"" + t->name + "\"";
      EXPECT_EQ(Rows("SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM "
                     "pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT "
                     "attisdropped AND attname NOT LIKE '\\_owsync\\_%' ORDER BY attnum",
                     {rel}),
                want)
          << t->name;
      EXPECT_EQ(Rows("SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM "
                     "pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT "
                     "attisdropped AND attname LIKE '\\_owsync\\_%' ORDER BY attnum",
                     {rel}),
                sync)
          << t->name;
      std::string key;
      for (const std::string& k : t->KeyNames()) key += (key.empty() ? "" : ",") + k;
      EXPECT_EQ(Rows("SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM pg_index i "
                     "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) "
                     "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
                     "WHERE i.indisprimary AND i.indrelid = $1::regclass",
                     {rel}),
                std::vector<std::string>{key})
          << t->name;
      EXPECT_EQ(Rows("SELECT count(*) FROM pg_trigger WHERE tgname = '_owsync_dirty' AND tgrelid "
                     "= $1::regclass",
                     {rel}),
                std::vector<std::string>{"1"})
          << t->name;
      EXPECT_EQ(Rows("SELECT has_table_privilege($1, $2::regclass, 'SELECT') AND "
                     "has_table_privilege($1, $2::regclass, 'INSERT') AND "
                     "has_table_privilege($1, $2::regclass, 'UPDATE') AND NOT "
                     "has_table_privilege($1, $2::regclass, 'DELETE')",
                     {host_.role, rel}),
                std::vector<std::string>{"t"})
          << t->name;
    }
    std::sort(expected_tables.begin(), expected_tables.end());
    EXPECT_EQ(Rows("SELECT relname FROM pg_class WHERE relnamespace = $1::regnamespace AND "
                   "relkind = 'r' ORDER BY relname COLLATE \"C\"",
                   {"\"" + client_ + "\""}),
              expected_tables);
  }

  PgTestEnv* env_ = nullptr;
  tests::TestDatabase db_;
  tests::TestHost host_;
  std::optional<ScopedTempDir> tmp_;
  std::string client_;
  std::string sqlite_path_;
};

TEST_P(ProvisionCliTest, ProvisionsEveryReplicableTableFromTheDatabaseAndSecondRunIsANoOp) {
  const capture::Catalog catalog = Inspect();
  ASSERT_GE(catalog.Replicable().size(), 20u);
  tests::CliRun run = Cli(ProvisionArgs({"--db", sqlite_path_}));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("change(s) committed"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("created table \"" + client_ + "\".\"user\""), std::string::npos);
  ExpectSchemaMatches(catalog);
  // Facts of the fixtures, spelled out.
  const std::string schema = "\"" + client_ + "\"";
  auto type_of = [&](const std::string& table, const std::string& column) {
    return Rows(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
        "$1::regclass AND attname = $2",
        {schema + "." + table, column});
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(type_of("chat", "meta"), V{"jsonb"});
  EXPECT_EQ(type_of("chat", "pinned"), V{"boolean"});
  EXPECT_EQ(type_of("chat", "created_at"), V{"bigint"});
  if (GetParam() == "v0.6.31") {
    EXPECT_EQ(type_of("config", "created_at"), V{"text"});  // DATETIME stays text
    EXPECT_EQ(type_of("chat", "archived"), V{"bigint"});    // INTEGER
  } else {
    EXPECT_EQ(type_of("config", "value"), V{"jsonb"});
    EXPECT_EQ(type_of("chat", "archived"), V{"boolean"});
  }

  tests::CliRun again = Cli(ProvisionArgs({"--db", sqlite_path_}));
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("nothing changed (schema_version 1)"), std::string::npos) << again.out;

  tests::CliRun check = Cli({"db", "check"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

TEST_P(ProvisionCliTest, ProvisionsFromTheLatestSchemaRecordsOfTheOutbox) {
  const capture::Catalog catalog = Inspect();
  const std::string dir = tmp_->Child("outbox");
  {
    auto writer = outbox::OutboxWriter::Open(env_->fs(), env_->clock(), dir, {});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    for (const capture::TableInfo* t : catalog.Replicable()) {
      // An older schema of the table first (one column fewer): the latest record wins.
      outbox::Record old_schema;
      old_schema.type = outbox::RecordType::kSchema;
      old_schema.table = t->name;
      old_schema.columns = t->columns;
      if (old_schema.columns.size() > 1 && old_schema.columns.back().key_position == 0) {
        old_schema.columns.pop_back();
      }
      ASSERT_TRUE((*writer)->Append(&old_schema).ok());
      outbox::Record schema;
      schema.type = outbox::RecordType::kSchema;
      schema.table = t->name;
      schema.columns = t->columns;
      ASSERT_TRUE((*writer)->Append(&schema).ok());
    }
    ASSERT_TRUE((*writer)->Commit().ok());
  }
  tests::CliRun run = Cli(ProvisionArgs({"--outbox", dir}));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  ExpectSchemaMatches(catalog);
}

TEST_P(ProvisionCliTest, MigrateAddsWhatSqliteGainedAndIsRequiredForIt) {
  ASSERT_EQ(Cli(ProvisionArgs({"--db", sqlite_path_})).exit_code, 0);
  {
    auto sqlite = capture::SqliteDb::Open(sqlite_path_, {});
    ASSERT_TRUE(sqlite.ok());
    ASSERT_TRUE(sqlite
                    ->Exec("ALTER TABLE chat ADD COLUMN owsync_test_added TEXT; "
                           "CREATE TABLE later_table (id TEXT PRIMARY KEY, n INTEGER)")
                    .ok());
  }
  tests::CliRun refused = Cli(ProvisionArgs({"--db", sqlite_path_}));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("--migrate"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("column \"chat\".\"owsync_test_added\""), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("table \"later_table\""), std::string::npos) << refused.err;

  tests::CliRun migrated = Cli(ProvisionArgs({"--db", sqlite_path_, "--migrate"}));
  ASSERT_EQ(migrated.exit_code, 0) << migrated.out << migrated.err;
  EXPECT_NE(migrated.out.find("schema_version 2"), std::string::npos) << migrated.out;
  ExpectSchemaMatches(Inspect());
}

TEST_P(ProvisionCliTest, RefusesReservedClientsAndPasswordsOnTheCommandLine) {
  tests::CliRun reserved =
      Cli({"provision", "--client", "public", "--host", host_.name, "--db", sqlite_path_});
  EXPECT_EQ(reserved.exit_code, 2);
  EXPECT_NE(reserved.err.find("PostgreSQL or Supabase own"), std::string::npos) << reserved.err;

  tests::CliRun secret =
      Cli(ProvisionArgs({"--db", sqlite_path_, "--admin-url", "postgresql://u:hunter2@h/db"}));
  EXPECT_EQ(secret.exit_code, 2);
  EXPECT_NE(secret.err.find("password"), std::string::npos) << secret.err;

  tests::CliRun both = Cli(ProvisionArgs({"--db", sqlite_path_, "--outbox", tmp_->path()}));
  EXPECT_NE(both.exit_code, 0);
  tests::CliRun neither = Cli(ProvisionArgs({}));
  EXPECT_EQ(neither.exit_code, 2);
  EXPECT_NE(neither.err.find("exactly one of --db or --outbox"), std::string::npos);
  EXPECT_EQ(Rows("SELECT count(*) FROM sync_metadata.client_deployments"),
            std::vector<std::string>{"0"});
}

INSTANTIATE_TEST_SUITE_P(OpenWebUi, ProvisionCliTest, ::testing::Values("v0.6.31", "v0.11.0"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string n = p.param;
                           std::replace(n.begin(), n.end(), '.', '_');
                           return n;
                         });

}  // namespace
}  // namespace owsync
