#include "shipper/pg_url.h"

#include <gtest/gtest.h>

namespace owsync::shipper {
namespace {

TEST(PgUrlTest, ParsesUriParts) {
  auto url = PgUrl::Parse("postgresql://alice:s3cret@db.example.com:6543/app?sslmode=require");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->Get("user"), "alice");
  EXPECT_EQ(url->Get("password"), "s3cret");
  EXPECT_EQ(url->Get("host"), "db.example.com");
  EXPECT_EQ(url->Get("port"), "6543");
  EXPECT_EQ(url->Get("dbname"), "app");
  EXPECT_EQ(url->Get("sslmode"), "require");
  EXPECT_TRUE(url->has_password());
}

TEST(PgUrlTest, ParsesKeyValueConninfo) {
  auto url = PgUrl::Parse("host=127.0.0.1 port=5432 user=bob dbname='my db'");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->Get("dbname"), "my db");
  EXPECT_FALSE(url->has_password());
  auto with_pw = PgUrl::Parse("host=h password='a b'");
  ASSERT_TRUE(with_pw.ok());
  EXPECT_TRUE(with_pw->has_password());
}

TEST(PgUrlTest, UrlWithoutPasswordHasNone) {
  auto url = PgUrl::Parse("postgresql://owsync_admin@127.0.0.1:5555/postgres");
  ASSERT_TRUE(url.ok());
  EXPECT_FALSE(url->has_password());
}

TEST(PgUrlTest, MaskHidesPasswordAndKeepsTheRest) {
  auto url = PgUrl::Parse("postgresql://alice:s3cret@db:5432/app?sslmode=verify-full");
  ASSERT_TRUE(url.ok());
  const std::string masked = url->Masked();
  EXPECT_EQ(masked.find("s3cret"), std::string::npos) << masked;
  EXPECT_NE(masked.find("********"), std::string::npos);
  EXPECT_NE(masked.find("sslmode=verify-full"), std::string::npos);
  EXPECT_NE(masked.find("alice"), std::string::npos);
  auto kv = PgUrl::Parse("host=db password=topsecret user=x");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->Masked().find("topsecret"), std::string::npos);
}

TEST(PgUrlTest, ParseErrorNeverRepeatsTheInput) {
  auto bad = PgUrl::Parse("host=db password hunter2");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().find("hunter2"), std::string::npos) << bad.status().message();
  auto bad_uri = PgUrl::Parse("postgresql://u:hunter2%zz@h/db");
  ASSERT_FALSE(bad_uri.ok());
  EXPECT_EQ(bad_uri.status().message().find("hunter2"), std::string::npos)
      << bad_uri.status().message();
}

TEST(PgUrlTest, RoundTripsSpecialCharacters) {
  const std::string pw = "p@ss:w/o rd?&=%#\"'\\";
  PgUrl built = PgUrl::FromParts("127.0.0.1", 6432, "we ird@user", pw, "db/name");
  auto back = PgUrl::Parse(built.ToString());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->Get("password"), pw);
  EXPECT_EQ(back->Get("user"), "we ird@user");
  EXPECT_EQ(back->Get("dbname"), "db/name");
  EXPECT_EQ(back->Get("host"), "127.0.0.1");
  EXPECT_EQ(back->Get("port"), "6432");
}

TEST(PgUrlTest, RoundTripsSocketDirectoriesMultipleHostsAndIpv6) {
  for (const char* in : {"host=/tmp/pg port=5555 dbname=x", "host=a,b port=1,2 user=u",
                         "host=::1 port=7 user=u", "postgresql://[::1]:7/db"}) {
    auto url = PgUrl::Parse(in);
    ASSERT_TRUE(url.ok()) << in;
    auto back = PgUrl::Parse(url->ToString());
    ASSERT_TRUE(back.ok()) << in << " -> " << url->ToString();
    EXPECT_EQ(back->options(), url->options()) << in << " -> " << url->ToString();
  }
}

TEST(PgUrlTest, WithReplacesAndWithoutRemoves) {
  auto url = PgUrl::Parse("postgresql://admin@127.0.0.1:5000/postgres?sslmode=disable");
  ASSERT_TRUE(url.ok());
  PgUrl other = url->With("user", "host_a").With("password", "pw").With("dbname", "t1");
  auto back = PgUrl::Parse(other.ToString());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->Get("user"), "host_a");
  EXPECT_EQ(back->Get("password"), "pw");
  EXPECT_EQ(back->Get("dbname"), "t1");
  EXPECT_EQ(back->Get("sslmode"), "disable");
  EXPECT_EQ(back->Get("port"), "5000");
  EXPECT_FALSE(other.Without("password").has_password());
}

TEST(PgUrlTest, PercentEncodeKeepsUnreservedOnly) {
  EXPECT_EQ(PercentEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(PercentEncode("a b/c"), "a%20b%2Fc");
  EXPECT_EQ(PercentEncode(std::string("\0\xff", 2)), "%00%FF");
}

}  // namespace
}  // namespace owsync::shipper
