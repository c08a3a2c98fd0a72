// Host isolation of tenant schemas, as real host roles logging in with the passwords
// `db add-host` generated: host A's role reads and writes its tenant's tables; host B's role
// can neither read nor write them nor see A's offset row; no host role can DELETE, TRUNCATE,
// DROP, ALTER or CREATE anything in a tenant schema. Denials are asserted by SQLSTATE 42501.
#include <gtest/gtest.h>

#include "shipper/pg_connection.h"
#include "shipper/pg_error.h"
#include "shipper/tenant_provisioner.h"
#include "tests/pg_test_env.h"

namespace owsync {
namespace {

using outbox::Column;
using shipper::Deadline;
using shipper::PgConnection;
using shipper::SqlStateOf;
using tests::PgTestEnv;

std::vector<shipper::ProvisionTable> Tables() {
  return {{"user",
           {Column{"id", "VARCHAR(255)", 1, true}, Column{"name", "TEXT", 0, false},
            Column{"settings", "JSON", 0, false}}},
          {"chat",
           {Column{"id", "TEXT", 1, true}, Column{"title", "TEXT", 0, false},
            Column{"created_at", "BIGINT", 0, false}}}};
}

class TenantSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = PgTestEnv::Get();
    ASSERT_NE(env_, nullptr);
    auto db = env_->CreateDatabase("tenantsec");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = *db;
    auto a = env_->AddHost(db_, "sec-a");
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    a_ = *a;
    auto b = env_->AddHost(db_, "sec-b");
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    b_ = *b;
    client_a_ = env_->UniqueName("tenant_a");
    client_b_ = env_->UniqueName("tenant_b");
    auto admin = env_->ConnectAdmin(db_.admin_url);
    ASSERT_TRUE(admin.ok());
    shipper::TenantProvisioner provisioner(env_->clock(), env_->logger());
    for (auto [client, host] : {std::pair{client_a_, a_.name}, std::pair{client_b_, b_.name}}) {
      auto report = provisioner.Provision(&*admin, {client, host, "", Tables(), false});
      ASSERT_TRUE(report.ok()) << report.status().ToString();
      // A row in every table, written as the shipper would (admin, applying on).
      auto ins = admin->Exec(
          "BEGIN; SET LOCAL owsync.applying = 'on'; INSERT INTO \"" + client +
              "\".\"user\" (id, name, _owsync_offset) VALUES ('u1', 'n', 1); INSERT INTO \"" +
              client + "\".chat (id, title, _owsync_offset) VALUES ('c1', 't', 2); COMMIT",
          In());
      ASSERT_TRUE(ins.ok()) << ins.status().ToString();
    }
  }
  Deadline In(int64_t micros = 10'000'000) { return Deadline::After(env_->clock(), micros); }
  PgConnection ConnectAs(const tests::TestHost& h) {
    auto conn = PgConnection::Connect(env_->clock(), h.url, In());
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    return std::move(conn).value();
  }
  // `sql` must fail with insufficient_privilege.
  void ExpectDenied(PgConnection* conn, const std::string& sql) {
    auto res = conn->Exec(sql, In());
    ASSERT_FALSE(res.ok()) << "allowed: " << sql;
    EXPECT_EQ(SqlStateOf(res.status()), shipper::sqlstate::kInsufficientPrivilege)
        << sql << ": " << res.status().ToString();
    EXPECT_EQ(res.status().code(), StatusCode::kPermissionDenied);
  }
  std::string AdminQuery(const std::string& sql) {
    auto conn = env_->ConnectAdmin(db_.admin_url);
    EXPECT_TRUE(conn.ok());
    auto res = conn->Exec(sql, In());
    EXPECT_TRUE(res.ok()) << sql << ": " << res.status().ToString();
    return res.ok() && res->rows() > 0 ? std::string(res->GetValue(0, 0)) : "<none>";
  }

  PgTestEnv* env_ = nullptr;
  tests::TestDatabase db_;
  tests::TestHost a_, b_;
  std::string client_a_, client_b_;
};

TEST_F(TenantSecurityTest, OwnHostReadsInsertsAndUpdatesItsTenant) {
  PgConnection a = ConnectAs(a_);
  const std::string user = "\"" + client_a_ + "\".\"user\"";
  auto sel = a.Exec("SELECT name FROM " + user + " WHERE id = 'u1'", In());
  ASSERT_TRUE(sel.ok()) << sel.status().ToString();
  EXPECT_EQ(sel->GetValue(0, 0), "n");
  auto ins = a.Exec("BEGIN; SET LOCAL owsync.applying = 'on'; INSERT INTO " + user +
                        " (id, name, _owsync_offset) VALUES ('u2', 'm', 3) ON CONFLICT (id) DO "
                        "UPDATE SET name = EXCLUDED.name; UPDATE " +
                        user + " SET _owsync_deleted_at = now() WHERE id = 'u1'; COMMIT",
                    In());
  ASSERT_TRUE(ins.ok()) << ins.status().ToString();
  EXPECT_EQ(AdminQuery("SELECT count(*) FILTER (WHERE _owsync_deleted_at IS NOT NULL) || '/' || "
                       "count(*) FROM " +
                       user),
            "1/2");
  // Its own offset row, through row-level security.
  auto off = a.ExecParams(
      "SELECT schema_version FROM sync_metadata.tenant_offsets WHERE "
      "client_name = $1",
      {client_a_}, In());
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  ASSERT_EQ(off->rows(), 1);
  EXPECT_EQ(off->GetValue(0, 0), "1");
  // Its staging tables (TEMPORARY) still work.
  auto tmp = a.Exec("BEGIN; CREATE TEMPORARY TABLE s (LIKE " + user +
                        ") ON COMMIT DROP; INSERT INTO s SELECT * FROM " + user + "; COMMIT",
                    In());
  EXPECT_TRUE(tmp.ok()) << tmp.status().ToString();
}

TEST_F(TenantSecurityTest, OtherHostCanNeitherReadNorWriteNorSeeTheOffsetRow) {
  PgConnection b = ConnectAs(b_);
  for (const char* table : {"\"user\"", "chat", "_owsync_tables"}) {
    const std::string t = "\"" + client_a_ + "\"." + table;
    ExpectDenied(&b, "SELECT * FROM " + t);
    ExpectDenied(&b, "SELECT count(*) FROM " + t);
    ExpectDenied(&b, "UPDATE " + t + " SET _owsync_dirty = true");
  }
  ExpectDenied(&b, "INSERT INTO \"" + client_a_ +
                       "\".chat (id, title, _owsync_offset) VALUES ('evil', 'x', 99)");
  ExpectDenied(&b, "INSERT INTO \"" + client_a_ + "\"._owsync_tables VALUES ('chat', '[]', 1)");
  // Not even through its group role.
  ExpectDenied(&b, "SET ROLE sync_service; SELECT * FROM \"" + client_a_ + "\".chat");
  // A's offset row is invisible and cannot be changed.
  PgConnection b2 = ConnectAs(b_);
  auto seen =
      b2.ExecParams("SELECT count(*) FROM sync_metadata.tenant_offsets WHERE client_name = $1",
                    {client_a_}, In());
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_EQ(seen->GetValue(0, 0), "0");
  auto upd = b2.ExecParams(
      "UPDATE sync_metadata.tenant_offsets SET acked_epoch = 999 WHERE client_name = $1",
      {client_a_}, In());
  ASSERT_TRUE(upd.ok()) << upd.status().ToString();
  EXPECT_EQ(upd->affected_rows(), 0);
  // A's data is unchanged; B's own tenant is reachable to B (so the denials are about A).
  EXPECT_EQ(AdminQuery("SELECT count(*) FROM \"" + client_a_ + "\".chat WHERE _owsync_dirty"), "0");
  EXPECT_EQ(AdminQuery("SELECT acked_epoch FROM sync_metadata.tenant_offsets WHERE client_name "
                       "= '" +
                       client_a_ + "'"),
            "0");
  auto own = b2.Exec("SELECT count(*) FROM \"" + client_b_ + "\".chat", In());
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_EQ(own->GetValue(0, 0), "1");
}

TEST_F(TenantSecurityTest, NoHostRoleCanDeleteTruncateDropAlterOrCreate) {
  for (const tests::TestHost* h : {&a_, &b_}) {
    PgConnection conn = ConnectAs(*h);
    for (const std::string& client : {client_a_, client_b_}) {
      const std::string s = "\"" + client + "\"";
      ExpectDenied(&conn, "DELETE FROM " + s + ".chat");
      ExpectDenied(&conn, "DELETE FROM " + s + ".\"user\" WHERE id = 'u1'");
      ExpectDenied(&conn, "TRUNCATE " + s + ".chat");
      ExpectDenied(&conn, "DROP TABLE " + s + ".chat");
      ExpectDenied(&conn, "DROP TABLE " + s + "._owsync_tables");
      ExpectDenied(&conn, "ALTER TABLE " + s + ".chat ADD COLUMN x text");
      ExpectDenied(&conn, "ALTER TABLE " + s + ".chat DISABLE TRIGGER _owsync_dirty");
      ExpectDenied(&conn, "DROP TRIGGER _owsync_dirty ON " + s + ".chat");
      ExpectDenied(&conn, "DROP SCHEMA " + s + " CASCADE");
      ExpectDenied(&conn, "CREATE TABLE " + s + ".planted (x int)");
      ExpectDenied(&conn, "CREATE OR REPLACE FUNCTION " + s +
                              "._owsync_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS "
                              "$$ BEGIN RETURN NEW; END $$");
    }
  }
  EXPECT_EQ(AdminQuery("SELECT count(*) FROM \"" + client_a_ + "\".chat"), "1");
  EXPECT_EQ(AdminQuery("SELECT count(*) FROM \"" + client_b_ + "\".\"user\""), "1");
}

}  // namespace
}  // namespace owsync
