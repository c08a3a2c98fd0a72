// TenantProvisioner against a real PostgreSQL: what it creates (checked in the catalog, not
// through the provisioner), idempotence, refusals, odd identifiers, the dirty trigger, lz4,
// and --migrate moving values out of _owsync_extra under the offset-row lock.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "shipper/pg_error.h"
#include "shipper/tenant_provisioner.h"
#include "tests/pg_test_env.h"

namespace owsync::shipper {
namespace {

using outbox::Column;
using tests::PgTestEnv;

Column Col(std::string name, std::string type, uint32_t key = 0, bool not_null = false) {
  return Column{std::move(name), std::move(type), key, not_null};
}

ProvisionTable ChatTable() {
  return {"chat",
          {Col("id", "VARCHAR(255)", 1, true), Col("user_id", "TEXT"), Col("chat", "JSON"),
           Col("created_at", "BIGINT"), Col("archived", "INTEGER"), Col("pinned", "BOOLEAN"),
           Col("score", "REAL"), Col("amount", "NUMERIC(10,2)"), Col("data", "BLOB"),
           Col("untyped", "")}};
}

ProvisionTable TagTable() {
  return {"tag",
          {Col("id", "VARCHAR(255)", 1, true), Col("name", "TEXT"),
           Col("user_id", "VARCHAR(255)", 2, true), Col("meta", "JSON")}};
}

class TenantProvisionerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = PgTestEnv::Get();
    ASSERT_NE(env_, nullptr);
    auto db = env_->CreateDatabase("provision");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    auto host = env_->AddHost(db_, "prov-host");
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    host_ = *host;
    auto admin = env_->ConnectAdmin(db_.admin_url);
    ASSERT_TRUE(admin.ok()) << admin.status().ToString();
    admin_.emplace(std::move(admin).value());
    client_ = env_->UniqueName("acme");
  }
  Deadline In(int64_t micros = 30'000'000) { return Deadline::After(env_->clock(), micros); }

  ProvisionRequest Request(std::vector<ProvisionTable> tables, bool migrate = false) {
    return ProvisionRequest{client_, host_.name, "", std::move(tables), migrate};
  }
  Result<ProvisionReport> Provision(const ProvisionRequest& request) {
    TenantProvisioner provisioner(env_->clock(), &log_);
    return provisioner.Provision(&*admin_, request);
  }
  // First value of the first row (or "<none>"), run by the administrator on its own
  // connection so the provisioner's connection state is never involved.
  std::string Q(const std::string& sql, const std::vector<std::optional<std::string>>& p = {}) {
    auto conn = env_->ConnectAdmin(db_.admin_url);
    EXPECT_TRUE(conn.ok());
    auto res = conn->ExecParams(sql, p, In());
    EXPECT_TRUE(res.ok()) << sql << ": " << res.status().ToString();
    if (!res.ok() || res->rows() == 0) return "<none>";
    return res->IsNull(0, 0) ? "<null>" : std::string(res->GetValue(0, 0));
  }
  // "name:type:notnull" of every column of client_.table, in order.
  std::string Columns(const std::string& table) {
    return Q(
        "SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':' "
        "|| a.attnotnull, ',' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = "
        "(quote_ident($1) || '.' || quote_ident($2))::regclass AND a.attnum > 0 AND NOT "
        "a.attisdropped",
        {client_, table});
  }
  std::string PrimaryKey(const std::string& table) {
    return Q(
        "SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM pg_index i "
        "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indisprimary AND i.indrelid = (quote_ident($1) || '.' || "
        "quote_ident($2))::regclass",
        {client_, table});
  }
  std::string SchemaVersion() {
    return Q("SELECT schema_version FROM sync_metadata.tenant_offsets WHERE client_name = $1",
             {client_});
  }
  PgConnection ConnectAsHost() {
    auto conn = PgConnection::Connect(env_->clock(), host_.url, In());
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    return std::move(conn).value();
  }

  PgTestEnv* env_ = nullptr;
  tests::TestDatabase db_;
  tests::TestHost host_;
  std::optional<PgConnection> admin_;
  std::string client_;
  CapturingLogger log_;
};

TEST_F(TenantProvisionerTest, CreatesSchemaTablesTypesKeysTriggerGrantsAndRegistration) {
  auto report = Provision(Request({ChatTable(), TagTable()}));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->changed);
  EXPECT_EQ(report->role, host_.role);
  EXPECT_EQ(report->schema_version, 1);

  EXPECT_EQ(Columns("chat"),
            "id:text:true,user_id:text:false,chat:jsonb:false,created_at:bigint:false,"
            "archived:bigint:false,pinned:boolean:false,score:double precision:false,"
            "amount:numeric:false,data:bytea:false,untyped:bytea:false,"
            "_owsync_offset:bigint:true,_owsync_deleted_at:timestamp with time zone:false,"
            "_owsync_dirty:boolean:true,_owsync_extra:jsonb:false");
  EXPECT_EQ(PrimaryKey("chat"), "id");
  EXPECT_EQ(Columns("tag"),
            "id:text:true,name:text:false,user_id:text:true,meta:jsonb:false,"
            "_owsync_offset:bigint:true,_owsync_deleted_at:timestamp with time zone:false,"
            "_owsync_dirty:boolean:true,_owsync_extra:jsonb:false");
  EXPECT_EQ(PrimaryKey("tag"), "id,user_id");
  EXPECT_EQ(Columns("_owsync_tables"),
            "table_name:text:true,columns:jsonb:true,schema_offset:bigint:true");
  EXPECT_EQ(PrimaryKey("_owsync_tables"), "table_name");
  EXPECT_EQ(Q("SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = "
              "(quote_ident($1) || '.chat')::regclass AND adnum = (SELECT attnum FROM "
              "pg_attribute WHERE attrelid = adrelid AND attname = '_owsync_dirty')",
              {client_}),
            "false");

  // The trigger: BEFORE INSERT OR UPDATE, per row, with the owsync.applying condition.
  for (const char* table : {"chat", "tag"}) {
    const std::string def =
        Q("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = '_owsync_dirty' AND "
          "tgrelid = (quote_ident($1) || '.' || $2)::regclass",
          {client_, table});
    EXPECT_NE(def.find("BEFORE INSERT OR UPDATE"), std::string::npos) << def;
    EXPECT_NE(def.find("FOR EACH ROW"), std::string::npos) << def;
    EXPECT_NE(def.find("owsync.applying"), std::string::npos) << def;
    EXPECT_NE(def.find("_owsync_mark_dirty()"), std::string::npos) << def;
  }

  // Grants: exactly SELECT, INSERT, UPDATE on every table and USAGE on the schema.
  for (const char* table : {"chat", "tag", "_owsync_tables"}) {
    const std::string rel = client_ + "." + table;
    EXPECT_EQ(Q("SELECT string_agg(p, ',' ORDER BY p) FROM unnest(ARRAY['SELECT', 'INSERT', "
                "'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p "
                "WHERE has_table_privilege($1, $2::regclass, p)",
                {host_.role, rel}),
              "INSERT,SELECT,UPDATE")
        << table;
    EXPECT_EQ(Q("SELECT has_table_privilege('sync_service', $1::regclass, 'SELECT')", {rel}), "f");
  }
  EXPECT_EQ(Q("SELECT has_schema_privilege($1, $2, 'USAGE')", {host_.role, client_}), "t");
  EXPECT_EQ(Q("SELECT has_schema_privilege($1, $2, 'CREATE')", {host_.role, client_}), "f");

  // Registration.
  EXPECT_EQ(Q("SELECT host_id::text || ',' || container_name || ',' || sync_enabled FROM "
              "sync_metadata.client_deployments WHERE client_name = $1",
              {client_}),
            host_.host_id + ",openwebui-" + client_ + ",true");
  EXPECT_EQ(Q("SELECT coalesce(outbox_id, 'null') || ',' || acked_offset || ',' || acked_epoch "
              "|| ',' || schema_version || ',' || (deployment_id::text = $2) FROM "
              "sync_metadata.tenant_offsets WHERE client_name = $1",
              {client_, report->deployment_id}),
            "null,0,0,1,true");
}

TEST_F(TenantProvisionerTest, SecondRunChangesNothingAndSaysSo) {
  auto first = Provision(Request({ChatTable(), TagTable()}));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const std::string catalog_before =
      Q("SELECT string_agg(c.relname || ':' || c.xmin::text, ',' ORDER BY c.relname) FROM "
        "pg_class c WHERE c.relnamespace = $1::regnamespace",
        {client_});
  auto second = Provision(Request({ChatTable(), TagTable()}));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->changed);
  EXPECT_TRUE(second->changes.empty()) << second->changes.front();
  EXPECT_EQ(second->schema_version, 1);
  EXPECT_EQ(SchemaVersion(), "1");
  EXPECT_EQ(Q("SELECT string_agg(c.relname || ':' || c.xmin::text, ',' ORDER BY c.relname) FROM "
              "pg_class c WHERE c.relnamespace = $1::regnamespace",
              {client_}),
            catalog_before);
  EXPECT_TRUE(log_.Contains("nothing changed"));
}

TEST_F(TenantProvisionerTest, RefusesNamesPostgresOrSupabaseOwn) {
  for (const char* name : {"public", "pg_x", "sync_metadata", "auth", "storage", "graphql_public",
                           "supabase_functions", "Public"}) {
    ProvisionRequest r = Request({ChatTable()});
    r.client = name;
    auto report = Provision(r);
    ASSERT_FALSE(report.ok()) << name;
    EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument) << name;
    EXPECT_NE(report.status().message().find("PostgreSQL or Supabase own"), std::string::npos)
        << report.status().ToString();
  }
  EXPECT_EQ(Q("SELECT count(*) FROM sync_metadata.client_deployments"), "0");
  EXPECT_EQ(Q("SELECT count(*) FROM pg_class WHERE relname = 'chat'"), "0");
}

TEST_F(TenantProvisionerTest, RefusesIdentifiersOver63Bytes) {
  ProvisionRequest r = Request({ChatTable()});
  r.client = std::string(64, 'c');
  auto report = Provision(r);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("64 bytes"), std::string::npos);

  ProvisionTable long_table = ChatTable();
  long_table.name = std::string(64, 't');
  report = Provision(Request({TagTable(), long_table}));
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("table \"" + long_table.name + "\" is 64 bytes"),
            std::string::npos)
      << report.status().ToString();

  ProvisionTable long_column = ChatTable();
  long_column.columns.push_back(Col(std::string(64, 'x'), "TEXT"));
  report = Provision(Request({long_column}));
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("table \"chat\" column"), std::string::npos)
      << report.status().ToString();
  // Nothing at all was created by the refused runs.
  EXPECT_EQ(Q("SELECT count(*) FROM pg_namespace WHERE nspname = $1", {client_}), "0");
  EXPECT_EQ(Q("SELECT count(*) FROM sync_metadata.tenant_offsets"), "0");
}

TEST_F(TenantProvisionerTest, RefusesSqliteColumnNamedLikeASyncColumn) {
  ProvisionTable t = ChatTable();
  t.columns.push_back(Col("_owsync_offset", "INTEGER"));
  auto report = Provision(Request({TagTable(), t}));
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("\"chat\" column \"_owsync_offset\""), std::string::npos)
      << report.status().ToString();
  EXPECT_EQ(Q("SELECT count(*) FROM pg_namespace WHERE nspname = $1", {client_}), "0");
}

TEST_F(TenantProvisionerTest, OddIdentifiersWork) {
  ProvisionTable user{"user",
                      {Col("id", "TEXT", 1, true), Col("select", "TEXT"), Col("Mixed Case", "TEXT"),
                       Col("caf\xc3\xa9", "INTEGER"), Col("\xe6\x97\xa5\xe6\x9c\xac", "JSON")}};
  ProvisionTable weird{
      "we\"ird sp ace",
      {Col("k\"ey", "INTEGER", 1, true), Col("va'lue", "TEXT"), Col("\xf0\x9f\x98\x80", "BLOB")}};
  ProvisionTable group{"group", {Col("id", "TEXT", 1, true)}};
  auto report = Provision(Request({user, weird, group}));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(Columns("user").rfind(
                "id:text:true,select:text:false,Mixed Case:text:false,caf\xc3\xa9:bigint:false,"
                "\xe6\x97\xa5\xe6\x9c\xac:jsonb:false,_owsync_offset:",
                0),
            0u)
      << Columns("user");
  EXPECT_EQ(PrimaryKey("we\"ird sp ace"), "k\"ey");
  EXPECT_EQ(Columns("we\"ird sp ace")
                .rfind("k\"ey:bigint:true,va'lue:text:false,\xf0\x9f\x98\x80:bytea:false,", 0),
            0u)
      << Columns("we\"ird sp ace");

  // The host's role writes and reads them, quoted.
  PgConnection host = ConnectAsHost();
  auto ins =
      host.ExecParams("INSERT INTO \"" + client_ +
                          "\".\"we\"\"ird sp ace\" (\"k\"\"ey\", \"va'lue\", \"\xf0\x9f\x98\x80\", "
                          "_owsync_offset) VALUES (1, $1, '\\x00ff', 7)",
                      {"x"}, In());
  ASSERT_TRUE(ins.ok()) << ins.status().ToString();
  auto sel = host.Exec("SELECT \"va'lue\" FROM \"" + client_ + "\".\"we\"\"ird sp ace\"", In());
  ASSERT_TRUE(sel.ok()) << sel.status().ToString();
  EXPECT_EQ(sel->GetValue(0, 0), "x");
  auto again = Provision(Request({user, weird, group}));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->changed);
}

TEST_F(TenantProvisionerTest, DirtyTriggerMarksRowsChangedByAnyoneButTheShipper) {
  ASSERT_TRUE(Provision(Request({TagTable()})).ok());
  PgConnection host = ConnectAsHost();
  const std::string table = "\"" + client_ + "\".tag";
  auto dirty = [&](const std::string& id) {
    return Q("SELECT _owsync_dirty FROM " + table + " WHERE id = $1", {id});
  };
  // The shipper's way: SET LOCAL owsync.applying = 'on' in its transaction.
  ASSERT_TRUE(host.Exec("BEGIN; SET LOCAL owsync.applying = 'on'; INSERT INTO " + table +
                            " (id, user_id, name, _owsync_offset) VALUES ('a', 'u', 'n', 1); "
                            "UPDATE " +
                            table + " SET name = 'm' WHERE id = 'a'; COMMIT",
                        In())
                  .ok());
  EXPECT_EQ(dirty("a"), "f");
  // Anyone else (the same role, without the setting): marked dirty on UPDATE and INSERT.
  ASSERT_TRUE(host.Exec("UPDATE " + table + " SET name = 'x' WHERE id = 'a'", In()).ok());
  EXPECT_EQ(dirty("a"), "t");
  ASSERT_TRUE(
      host.Exec("INSERT INTO " + table + " (id, user_id, _owsync_offset) VALUES ('b', 'u', 2)",
                In())
          .ok());
  EXPECT_EQ(dirty("b"), "t");
  // A session setting it to something else is not the shipper either.
  ASSERT_TRUE(host.Exec("BEGIN; SET LOCAL owsync.applying = 'off'; UPDATE " + table +
                            " SET _owsync_dirty = false, name = 'y' WHERE id = 'b'; COMMIT",
                        In())
                  .ok());
  EXPECT_EQ(dirty("b"), "t");
  // The shipper clearing a row: stays clean.
  ASSERT_TRUE(host.Exec("BEGIN; SET LOCAL owsync.applying = 'on'; UPDATE " + table +
                            " SET _owsync_dirty = false, name = 'z' WHERE id = 'b'; COMMIT",
                        In())
                  .ok());
  EXPECT_EQ(dirty("b"), "f");
}

TEST_F(TenantProvisionerTest, ToastableColumnsGetLz4AndItIsRepaired) {
  ASSERT_EQ(Q("SELECT count(*) FROM pg_settings WHERE name = 'default_toast_compression' AND "
              "'lz4' = ANY(enumvals)"),
            "1")
      << "the test server has no lz4";
  ASSERT_TRUE(Provision(Request({ChatTable()})).ok());
  EXPECT_EQ(Q("SELECT string_agg(attname || '=' || attcompression::text, ',' ORDER BY attnum) FROM "
              "pg_attribute WHERE attrelid = $1::regclass AND attnum > 0",
              {client_ + ".chat"}),
            "id=l,user_id=l,chat=l,created_at=,archived=,pinned=,score=,amount=,data=l,"
            "untyped=l,_owsync_offset=,_owsync_deleted_at=,_owsync_dirty=,_owsync_extra=l");
  ASSERT_TRUE(admin_
                  ->Exec("ALTER TABLE \"" + client_ +
                             "\".chat ALTER COLUMN chat SET "
                             "COMPRESSION pglz",
                         In())
                  .ok());
  auto repaired = Provision(Request({ChatTable()}));
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  ASSERT_EQ(repaired->changes.size(), 1u);
  EXPECT_NE(repaired->changes[0].find("set lz4 compression"), std::string::npos);
  EXPECT_EQ(Q("SELECT attcompression FROM pg_attribute WHERE attrelid = $1::regclass AND "
              "attname = 'chat'",
              {client_ + ".chat"}),
            "l");
  EXPECT_EQ(SchemaVersion(), "1");  // columns did not change
}

TEST_F(TenantProvisionerTest, TableWithoutKeyIsSkippedWithAWarningNamingIt) {
  ProvisionTable unkeyed{"legacy_log", {Col("line", "TEXT"), Col("at", "INTEGER")}};
  auto report = Provision(Request({TagTable(), unkeyed}));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->warnings.size(), 1u);
  EXPECT_NE(report->warnings[0].find("\"legacy_log\" has no usable key"), std::string::npos);
  EXPECT_EQ(Q("SELECT to_regclass($1) IS NULL", {client_ + ".legacy_log"}), "t");
  EXPECT_EQ(Q("SELECT to_regclass($1) IS NOT NULL", {client_ + ".tag"}), "t");
}

TEST_F(TenantProvisionerTest, UnknownHostIsNotFoundAndNothingChanges) {
  ProvisionRequest r = Request({TagTable()});
  r.host = "no-such-host";
  auto report = Provision(r);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kNotFound);
  EXPECT_NE(report.status().message().find("owsync db add-host"), std::string::npos);
  EXPECT_EQ(Q("SELECT count(*) FROM pg_namespace WHERE nspname = $1", {client_}), "0");
}

TEST_F(TenantProvisionerTest, TenantRegisteredToAnotherHostIsRefused) {
  ASSERT_TRUE(Provision(Request({TagTable()})).ok());
  auto other = env_->AddHost(db_, "prov-other");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ProvisionRequest r = Request({TagTable()});
  r.host = other->name;
  auto report = Provision(r);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("registered to host '" + host_.name + "'"),
            std::string::npos)
      << report.status().ToString();
  EXPECT_EQ(Q("SELECT has_schema_privilege($1, $2, 'USAGE')", {other->role, client_}), "f");
}

TEST_F(TenantProvisionerTest, ChangedKeyNeedsMigrateWhichKeepsTheOldTableAside) {
  ASSERT_TRUE(Provision(Request({TagTable()})).ok());
  ASSERT_EQ(Q("INSERT INTO \"" + client_ +
              "\".tag (id, user_id, name, _owsync_offset) VALUES "
              "('1', 'u', 'kept', 5) RETURNING 1"),
            "1");
  ProvisionTable rekeyed = TagTable();
  rekeyed.columns[2].key_position = 0;  // key (id) instead of (id, user_id)
  auto refused = Provision(Request({rekeyed}));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("primary key in PostgreSQL is (id, user_id)"),
            std::string::npos)
      << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("--migrate"), std::string::npos);
  auto report = Provision(Request({rekeyed}, /*migrate=*/true));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  // The old rows stay, under another name; the table is new, keyed by id alone.
  EXPECT_EQ(Q("SELECT name FROM \"" + client_ + "\".tag__owsync_old_1"), "kept");
  EXPECT_EQ(Q("SELECT count(*) FROM \"" + client_ + "\".tag"), "0");
  EXPECT_EQ(Q("SELECT string_agg(a.attname, ',') FROM pg_index i JOIN pg_attribute a ON "
              "a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indisprimary AND "
              "i.indrelid = (quote_ident($1) || '.tag')::regclass",
              {client_}),
            "id");
  EXPECT_EQ(Q("SELECT count(*) FROM \"" + client_ + "\"._owsync_tables WHERE table_name = 'tag'"),
            "0");
}

TEST_F(TenantProvisionerTest, WithoutDbInitItSaysSo) {
  auto fresh = env_->CreateDatabase("provision-noinit");
  ASSERT_TRUE(fresh.ok());
  auto conn = env_->ConnectAdmin(fresh->admin_url);
  ASSERT_TRUE(conn.ok());
  TenantProvisioner provisioner(env_->clock(), &log_);
  auto report = provisioner.Provision(&*conn, Request({TagTable()}));
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(report.status().message().find("owsync db init"), std::string::npos);
}

TEST_F(TenantProvisionerTest, NewTablesOrColumnsWithoutMigrateAreRefusedNamingMigrate) {
  ASSERT_TRUE(Provision(Request({TagTable()})).ok());
  ProvisionTable grown = TagTable();
  grown.columns.push_back(Col("color", "TEXT"));
  auto report = Provision(Request({grown, ChatTable()}));
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kFailedPrecondition);
  const std::string msg = report.status().message();
  EXPECT_NE(msg.find("--migrate"), std::string::npos) << msg;
  EXPECT_NE(msg.find("column \"tag\".\"color\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("table \"chat\""), std::string::npos) << msg;
  EXPECT_EQ(Q("SELECT to_regclass($1) IS NULL", {client_ + ".chat"}), "t");
  EXPECT_EQ(Q("SELECT count(*) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = "
              "'color'",
              {client_ + ".tag"}),
            "0");
  EXPECT_EQ(SchemaVersion(), "1");
  // The connection is usable again (the transaction was rolled back).
  auto ok = admin_->Exec("SELECT 1", In());
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
}

TEST_F(TenantProvisionerTest, MigrateAddsColumnsAndMovesValuesOutOfExtraWithoutMarkingDirty) {
  ProvisionTable v1{"note", {Col("id", "TEXT", 1, true), Col("title", "TEXT")}};
  ASSERT_TRUE(Provision(Request({v1})).ok());
  // What the shipper wrote while PostgreSQL lacked the columns (encoding of the spec).
  PgConnection host = ConnectAsHost();
  const std::string table = "\"" + client_ + "\".note";
  auto ins = host.Exec(
      "BEGIN; SET LOCAL owsync.applying = 'on'; INSERT INTO " + table +
          " (id, title, _owsync_offset, _owsync_extra) VALUES "
          "('r1', 't', 11, '{\"n\": 42, \"flag\": 1, \"r\": 1.5, \"inf\": \"-Infinity\", "
          "\"s\": \"h\\u00e9llo\", \"b\": \"\\\\x00ff10\", \"j\": \"{\\\"a\\\": [1, 2]}\", "
          "\"num\": 12.25, \"big\": 1.5}'), "
          "('r2', 't', 12, '{\"n\": null, \"j\": 7, \"b\": \"text\", \"flag\": 2}'), "
          "('r3', 't', 13, NULL); COMMIT",
      In());
  ASSERT_TRUE(ins.ok()) << ins.status().ToString();

  ProvisionTable v2 = v1;
  for (auto [name, type] : std::vector<std::pair<const char*, const char*>>{{"n", "INTEGER"},
                                                                            {"flag", "BOOLEAN"},
                                                                            {"r", "REAL"},
                                                                            {"inf", "DOUBLE"},
                                                                            {"s", "TEXT"},
                                                                            {"b", "BLOB"},
                                                                            {"j", "JSON"},
                                                                            {"num", "NUMERIC"},
                                                                            {"big", "BIGINT"}}) {
    v2.columns.push_back(Col(name, type));
  }
  ProvisionTable fresh{"folder", {Col("id", "TEXT", 1, true)}};
  auto report = Provision(Request({v2, fresh}, /*migrate=*/true));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->schema_version, 2);
  EXPECT_EQ(SchemaVersion(), "2");

  auto row = [&](const std::string& id) {
    return Q(
        "SELECT concat_ws('|', n, flag, r, inf, s, encode(b, 'hex'), j, num, big, "
        "_owsync_extra, _owsync_dirty, _owsync_offset) FROM " +
            table + " WHERE id = $1",
        {id});
  };
  EXPECT_EQ(row("r1"),
            "42|t|1.5|-Infinity|h\xc3\xa9llo|00ff10|{\"a\": [1, 2]}|12.25|{\"big\": 1.5}|f|11");
  // r2: n was null (moved as NULL), j a number, b text (its UTF-8 bytes), flag 2 does not fit.
  EXPECT_EQ(row("r2"), "74657874|7|{\"flag\": 2}|f|12");
  EXPECT_EQ(row("r3"), "f|13");
  bool warned = false;
  for (const std::string& w : report->warnings) {
    if (w.find("1 value(s) of") != std::string::npos &&
        w.find("stay in _owsync_extra") != std::string::npos) {
      warned = true;
    }
  }
  EXPECT_TRUE(warned);
  // The new table is complete: trigger and grants.
  EXPECT_EQ(Q("SELECT count(*) FROM pg_trigger WHERE tgname = '_owsync_dirty' AND tgrelid = "
              "$1::regclass",
              {client_ + ".folder"}),
            "1");
  EXPECT_EQ(Q("SELECT has_table_privilege($1, $2::regclass, 'UPDATE')",
              {host_.role, client_ + ".folder"}),
            "t");
  // Re-running the migration is a no-op.
  auto again = Provision(Request({v2, fresh}, /*migrate=*/true));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(SchemaVersion(), "2");
}

TEST_F(TenantProvisionerTest, MigrateWaitsForTheOffsetRowLockOfABatch) {
  ProvisionTable v1{"note", {Col("id", "TEXT", 1, true)}};
  ASSERT_TRUE(Provision(Request({v1})).ok());
  // A "shipping batch" holds the offset row.
  PgConnection batch = ConnectAsHost();
  ASSERT_TRUE(batch.Exec("BEGIN", In()).ok());
  ASSERT_TRUE(batch
                  .ExecParams("UPDATE sync_metadata.tenant_offsets SET acked_epoch = 1 WHERE "
                              "client_name = $1",
                              {client_}, In())
                  .ok());
  ProvisionTable v2 = v1;
  v2.columns.push_back(Col("extra_col", "TEXT"));
  std::atomic<bool> done{false};
  Result<ProvisionReport> report = Status::Internal("not run");
  std::thread migrate([&] {
    report = Provision(Request({v2}, /*migrate=*/true));
    done = true;
  });
  // It waits on the row lock while the batch is open.
  std::string waiting = "0";
  for (int i = 0; i < 100 && waiting == "0"; ++i) {
    waiting =
        Q("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
          "wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE%'");
    if (waiting == "0") std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(waiting, "1");
  EXPECT_FALSE(done.load());
  EXPECT_EQ(Q("SELECT count(*) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = "
              "'extra_col'",
              {client_ + ".note"}),
            "0");
  ASSERT_TRUE(batch.Exec("COMMIT", In()).ok());
  migrate.join();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->schema_version, 2);
  EXPECT_EQ(
      Q("SELECT acked_epoch FROM sync_metadata.tenant_offsets WHERE client_name = $1", {client_}),
      "1");
}

}  // namespace
}  // namespace owsync::shipper
