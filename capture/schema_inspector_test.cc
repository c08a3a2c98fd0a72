#include "capture/schema_inspector.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "capture/capture_testing.h"
#include "capture/sqlite_txn.h"
#include "util/scoped_temp_dir.h"

namespace owsync::capture {
namespace {

using testing::CreateDb;
using testing::ReadFixture;

class SchemaInspectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create("capture-inspector-");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    dir_ = std::make_unique<ScopedTempDir>(std::move(dir).value());
    fs_ = NewPosixFileSystem();
  }

  Catalog InspectSql(const std::string& sql, const TableFilter& filter = {}) {
    auto db = CreateDb(dir_->Child("t" + std::to_string(n_++) + ".db"), sql);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    auto catalog = SchemaInspector::Inspect(&*db, filter);
    EXPECT_TRUE(catalog.ok()) << catalog.status().ToString();
    return catalog.ok() ? *catalog : Catalog{};
  }

  Catalog InspectFixture(const std::string& name) {
    auto sql = ReadFixture(fs_.get(), name);
    EXPECT_TRUE(sql.ok()) << sql.status().ToString();
    return InspectSql(*sql);
  }

  static std::map<std::string, std::string> Keys(const Catalog& c) {
    std::map<std::string, std::string> out;
    for (const auto& t : c.tables) {
      std::string k;
      for (const auto& n : t.KeyNames()) k += (k.empty() ? "" : ",") + n;
      out[t.name] = t.replicable ? k : "NOT REPLICABLE";
    }
    return out;
  }

  std::unique_ptr<ScopedTempDir> dir_;
  std::unique_ptr<FileSystem> fs_;
  int n_ = 0;
};

TEST_F(SchemaInspectorTest, LegacyFixtureTablesAreKeyedByPrimaryKeyOrUniqueId) {
  Catalog c = InspectFixture("v0.6.31.sql");
  std::map<std::string, std::string> want = {{"alembic_version", "version_num"},
                                             {"auth", "id"},
                                             {"channel", "id"},
                                             {"channel_member", "id"},
                                             {"chat", "id"},
                                             {"chatidtag", "id"},
                                             {"config", "id"},
                                             {"document", "id"},
                                             {"feedback", "id"},
                                             {"file", "id"},
                                             {"folder", "id,user_id"},
                                             {"function", "id"},
                                             {"group", "id"},
                                             {"knowledge", "id"},
                                             {"memory", "id"},
                                             {"message", "id"},
                                             {"message_reaction", "id"},
                                             {"migratehistory", "id"},
                                             {"model", "id"},
                                             {"note", "id"},
                                             {"oauth_session", "id"},
                                             {"prompt", "id"},
                                             {"tag", "id,user_id"},
                                             {"tool", "id"},
                                             {"user", "id"}};
  EXPECT_EQ(Keys(c), want);
  const TableInfo* user = c.Find("user");
  ASSERT_NE(user, nullptr);
  EXPECT_EQ(user->key_source, "UNIQUE INDEX \"user_id\"");  // not api_key/oauth_sub: nullable
  EXPECT_FALSE(user->key_nullable);
  EXPECT_EQ(c.Find("chat")->key_source, "UNIQUE INDEX \"chat_id\"");
  EXPECT_EQ(c.Find("document")->key_source, "INTEGER PRIMARY KEY (rowid)");
  EXPECT_EQ(c.Find("tag")->key_source, "PRIMARY KEY");
  const TableInfo* tag = c.Find("tag");
  EXPECT_EQ(tag->columns[0].key_position, 1u);  // id
  EXPECT_EQ(tag->columns[2].key_position, 2u);  // user_id
  EXPECT_EQ(tag->columns[1].key_position, 0u);  // name
  EXPECT_EQ(user->columns[0].declared_type, "VARCHAR(255)");
  EXPECT_TRUE(user->columns[0].not_null);
  EXPECT_FALSE(user->columns[5].not_null);  // api_key
}

TEST_F(SchemaInspectorTest, CurrentFixtureTablesAllHavePrimaryKeys) {
  Catalog c = InspectFixture("v0.11.0.sql");
  ASSERT_EQ(c.tables.size(), 28u);
  for (const auto& t : c.tables) {
    EXPECT_TRUE(t.replicable) << t.name << ": " << t.reason;
    EXPECT_EQ(t.key_source, "PRIMARY KEY") << t.name;
  }
  EXPECT_EQ(Keys(c)["config"], "key");
  EXPECT_EQ(Keys(c)["folder"], "id,user_id");
  EXPECT_EQ(Keys(c)["tag"], "id,user_id");
}

TEST_F(SchemaInspectorTest, CompositeKeyFollowsKeyOrderNotColumnOrder) {
  Catalog c = InspectSql("CREATE TABLE t (a TEXT NOT NULL, b INT NOT NULL, PRIMARY KEY (b, a))");
  EXPECT_EQ(c.Find("t")->KeyNames(), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(c.Find("t")->columns[1].key_position, 1u);
}

TEST_F(SchemaInspectorTest, TableWithoutUsableKeyIsReportedWithReason) {
  Catalog c = InspectSql(
      "CREATE TABLE nokey (a, b);"
      "CREATE TABLE nullable_unique (a TEXT, b); CREATE UNIQUE INDEX nu ON nullable_unique(a);"
      "CREATE TABLE partial_unique (a TEXT NOT NULL);"
      "CREATE UNIQUE INDEX pu ON partial_unique(a) WHERE a > 'm';"
      "CREATE TABLE expr_unique (a TEXT NOT NULL);"
      "CREATE UNIQUE INDEX eu ON expr_unique(lower(a));");
  for (const char* name : {"nokey", "nullable_unique", "partial_unique", "expr_unique"}) {
    const TableInfo* t = c.Find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_FALSE(t->replicable) << name;
    EXPECT_FALSE(t->excluded);
    EXPECT_NE(t->reason.find("no PRIMARY KEY"), std::string::npos) << t->reason;
  }
  EXPECT_NE(c.Find("nullable_unique")->reason.find("nullable column \"a\""), std::string::npos);
  EXPECT_NE(c.Find("partial_unique")->reason.find("partial"), std::string::npos);
  EXPECT_NE(c.Find("expr_unique")->reason.find("expression"), std::string::npos);
}

TEST_F(SchemaInspectorTest, NarrowestNotNullUniqueIndexWins) {
  Catalog c = InspectSql(
      "CREATE TABLE t (a TEXT NOT NULL, b TEXT NOT NULL, c TEXT, UNIQUE (a, b));"
      "CREATE UNIQUE INDEX t_b ON t(b); CREATE UNIQUE INDEX t_c ON t(c);");
  EXPECT_EQ(c.Find("t")->KeyNames(), std::vector<std::string>{"b"});
  EXPECT_EQ(c.Find("t")->key_source, "UNIQUE INDEX \"t_b\"");
}

TEST_F(SchemaInspectorTest, WithoutRowidAndNullablePrimaryKeys) {
  Catalog c = InspectSql(
      "CREATE TABLE w (k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
      "CREATE TABLE n (k TEXT PRIMARY KEY, v);"
      "CREATE TABLE r (id INTEGER PRIMARY KEY, v);");
  EXPECT_TRUE(c.Find("w")->without_rowid);
  EXPECT_FALSE(c.Find("w")->key_nullable);  // SQLite enforces NOT NULL there
  EXPECT_TRUE(c.Find("n")->replicable);
  EXPECT_TRUE(c.Find("n")->key_nullable);  // a rowid table's TEXT PRIMARY KEY accepts NULL
  EXPECT_FALSE(c.Find("r")->key_nullable);
  EXPECT_TRUE(c.Find("r")->columns[0].not_null);
}

TEST_F(SchemaInspectorTest, OddIdentifiersAreInspected) {
  Catalog c = InspectSql(
      "CREATE TABLE \"we\"\"ird tab\xc3\xa9\" (\"k \"\"1\"\"\" TEXT NOT NULL, \"select\" INT, "
      "\"\xe2\x9c\x93\" BLOB, PRIMARY KEY (\"k \"\"1\"\"\"));"
      "CREATE TABLE \"group\" (\"order\" INTEGER PRIMARY KEY, \"from\" TEXT);");
  const TableInfo* t = c.Find("we\"ird tab\xc3\xa9");
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->replicable);
  EXPECT_EQ(t->KeyNames(), std::vector<std::string>{"k \"1\""});
  EXPECT_EQ(t->columns[2].name, "\xe2\x9c\x93");
  EXPECT_EQ(c.Find("group")->KeyNames(), std::vector<std::string>{"order"});
}

TEST_F(SchemaInspectorTest, InternalTablesAndViewsAreNeverListed) {
  Catalog c = InspectSql(
      "CREATE TABLE a (id INTEGER PRIMARY KEY);"
      "CREATE TABLE _owsync_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT);"
      "CREATE TABLE _OWSYNC_other (id INTEGER PRIMARY KEY);"
      "CREATE VIEW v AS SELECT * FROM a;");
  ASSERT_EQ(c.tables.size(), 1u);
  EXPECT_EQ(c.tables[0].name, "a");
}

TEST_F(SchemaInspectorTest, VirtualAndShadowTablesAreNotReplicable) {
  Catalog c = InspectSql("CREATE VIRTUAL TABLE f USING fts5(body);");
  ASSERT_NE(c.Find("f"), nullptr);
  EXPECT_FALSE(c.Find("f")->replicable);
  EXPECT_NE(c.Find("f")->reason.find("virtual"), std::string::npos);
  ASSERT_NE(c.Find("f_data"), nullptr);
  EXPECT_FALSE(c.Find("f_data")->replicable);
  EXPECT_NE(c.Find("f_data")->reason.find("shadow"), std::string::npos);
}

TEST_F(SchemaInspectorTest, IncludeAndExcludeListsAreApplied) {
  const std::string sql =
      "CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (id INTEGER PRIMARY KEY);"
      "CREATE TABLE c (id INTEGER PRIMARY KEY);";
  Catalog inc = InspectSql(sql, TableFilter({"A", "b"}, {"b"}));
  EXPECT_TRUE(inc.Find("a")->replicable);
  EXPECT_FALSE(inc.Find("b")->replicable);
  EXPECT_TRUE(inc.Find("b")->excluded);
  EXPECT_FALSE(inc.Find("c")->replicable);
  EXPECT_NE(inc.Find("c")->reason.find("excluded"), std::string::npos);
  EXPECT_EQ(TableFilter::SplitList(" a, b ,,c"), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(SchemaInspectorTest, CatalogCarriesSchemaVersionAndDefaults) {
  auto db = CreateDb(dir_->Child("v.db"),
                     "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT DEFAULT 'x', b DEFAULT NULL)");
  ASSERT_TRUE(db.ok());
  auto c1 = SchemaInspector::Inspect(&*db, {});
  ASSERT_TRUE(c1.ok());
  EXPECT_EQ(c1->Find("t")->column_defaults, (std::vector<std::string>{"", "'x'", ""}));
  ASSERT_TRUE(db->Exec("ALTER TABLE t ADD COLUMN c").ok());
  auto c2 = SchemaInspector::Inspect(&*db, {});
  ASSERT_TRUE(c2.ok());
  EXPECT_GT(c2->schema_version, c1->schema_version);
  EXPECT_EQ(c2->Find("t")->columns.size(), 4u);
}

}  // namespace
}  // namespace owsync::capture
