#include "shipper/tenant_name.h"

#include <gtest/gtest.h>

#include <string>

namespace owsync::shipper {
namespace {

void ExpectRefused(const Status& s, const std::string& needle) {
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.ToString();
}

TEST(TenantNameTest, OrdinaryClientNamesAreAccepted) {
  for (const char* name : {"acme", "Acme-Corp", "client_42", "7eleven", "a"}) {
    EXPECT_TRUE(TenantName::ValidateClientName(name).ok()) << name;
  }
  EXPECT_TRUE(TenantName::ValidateClientName(std::string(63, 'x')).ok());
}

TEST(TenantNameTest, SchemasPostgresOrSupabaseOwnAreRefusedWhateverTheCase) {
  for (const char* name : {"public",
                           "PUBLIC",
                           "auth",
                           "storage",
                           "extensions",
                           "realtime",
                           "graphql",
                           "graphql_public",
                           "graphqlx",
                           "pg_x",
                           "PG_catalog",
                           "pg_toast",
                           "information_schema",
                           "sync_metadata",
                           "vault",
                           "supabase_functions",
                           "supabase_migrations",
                           "cron",
                           "net",
                           "pgsodium",
                           "pgsodium_masks",
                           "pgbouncer"}) {
    EXPECT_TRUE(TenantName::IsReservedSchemaName(name)) << name;
    ExpectRefused(TenantName::ValidateClientName(name), "PostgreSQL or Supabase own");
  }
  for (const char* name : {"authors", "publicity", "pgx", "network", "sync", "cronos"}) {
    EXPECT_FALSE(TenantName::IsReservedSchemaName(name)) << name;
  }
}

TEST(TenantNameTest, ClientNameOver63BytesIsRefused) {
  ExpectRefused(TenantName::ValidateClientName(std::string(64, 'a')), "64 bytes long");
}

TEST(TenantNameTest, ClientNameWithOtherCharactersIsRefused) {
  ExpectRefused(TenantName::ValidateClientName(""), "empty");
  ExpectRefused(TenantName::ValidateClientName("_x"), "must start");
  ExpectRefused(TenantName::ValidateClientName("-x"), "must start");
  for (const char* name : {"a b", "a/b", "a\"b", "a.b", "caf\xc3\xa9"}) {
    ExpectRefused(TenantName::ValidateClientName(name), "may contain only");
  }
}

TEST(TenantNameTest, OddButValidIdentifiersAreAccepted) {
  for (const char* name : {"user", "group", "we\"ird sp ace", "Caf\xc3\xa9",
                           "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80 emoji", "a'b"}) {
    EXPECT_TRUE(TenantName::ValidateTableName(name).ok()) << name;
    EXPECT_TRUE(TenantName::ValidateColumnName("t", name).ok()) << name;
  }
  // 63 bytes of multi-byte characters (21 x 3 bytes).
  std::string cjk;
  for (int i = 0; i < 21; ++i) cjk += "\xe6\x97\xa5";
  EXPECT_TRUE(TenantName::ValidateTableName(cjk).ok());
  EXPECT_EQ(TenantName::ValidateTableName(cjk + "x").code(), StatusCode::kInvalidArgument);
}

TEST(TenantNameTest, IdentifierOver63BytesIsRefusedNamingIt) {
  const std::string long_name(64, 'c');
  ExpectRefused(TenantName::ValidateTableName(long_name), "table \"" + long_name + "\" is 64");
  ExpectRefused(TenantName::ValidateColumnName("chat", long_name), "table \"chat\" column");
  ExpectRefused(TenantName::ValidateColumnName("chat", long_name), "at most 63 bytes");
}

TEST(TenantNameTest, EmptyNulAndInvalidUtf8IdentifiersAreRefused) {
  ExpectRefused(TenantName::ValidateTableName(""), "empty name");
  ExpectRefused(TenantName::ValidateColumnName("t", std::string("a\0b", 3)), "NUL byte");
  ExpectRefused(TenantName::ValidateTableName("ab\xff"), "byte 2");
  ExpectRefused(TenantName::ValidateTableName("\xc0\xaf"), "not valid UTF-8");      // overlong
  ExpectRefused(TenantName::ValidateTableName("\xed\xa0\x80"), "not valid UTF-8");  // surrogate
  ExpectRefused(TenantName::ValidateTableName("\xe6\x97"), "not valid UTF-8");      // truncated
}

TEST(TenantNameTest, OwsyncNamesAreRefusedForColumnsAndTables) {
  ExpectRefused(TenantName::ValidateColumnName("chat", "_owsync_offset"), "sync columns");
  ExpectRefused(TenantName::ValidateColumnName("chat", "_OWSYNC_Extra"), "_owsync_");
  ExpectRefused(TenantName::ValidateTableName("_owsync_tables"), "owsync's own");
  EXPECT_TRUE(TenantName::ValidateColumnName("chat", "_owsync").ok());
  EXPECT_TRUE(TenantName::ValidateColumnName("chat", "owsync_offset").ok());
}

}  // namespace
}  // namespace owsync::shipper
