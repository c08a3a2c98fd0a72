#include "shipper/pg_type.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace owsync::shipper {
namespace {

void ExpectMapped(const std::vector<std::pair<std::string, PgType>>& cases) {
  for (const auto& [declared, type] : cases) {
    EXPECT_EQ(PgTypeSql(PgTypeForDeclared(declared)), PgTypeSql(type))
        << "declared \"" << declared << "\"";
  }
}

TEST(PgTypeTest, OpenWebUiDeclaredTypes) {
  ExpectMapped({
      {"VARCHAR(32)", PgType::kText},
      {"VARCHAR(255)", PgType::kText},
      {"BIGINT", PgType::kBigint},
      {"INTEGER", PgType::kBigint},
      {"BOOLEAN", PgType::kBoolean},
      {"JSON", PgType::kJsonb},
      {"TEXT", PgType::kText},
      {"DATE", PgType::kText},
      {"DATETIME", PgType::kText},
      {"", PgType::kBytea},
      {"DOUBLE PRECISION", PgType::kDouble},
      {"NUMERIC(10,2)", PgType::kNumeric},
      {"FLOAT", PgType::kDouble},
      {"INT8", PgType::kBigint},
      {"BLOB", PgType::kBytea},
  });
}

TEST(PgTypeTest, NamedTypesOfEachFamily) {
  ExpectMapped({
      {"INT", PgType::kBigint},
      {"SMALLINT", PgType::kBigint},
      {"TINYINT", PgType::kBigint},
      {"MEDIUMINT", PgType::kBigint},
      {"INT2", PgType::kBigint},
      {"BOOL", PgType::kBoolean},
      {"REAL", PgType::kDouble},
      {"DOUBLE", PgType::kDouble},
      {"NUMERIC", PgType::kNumeric},
      {"DECIMAL(10, 5)", PgType::kNumeric},
      {"CHAR(1)", PgType::kText},
      {"CLOB", PgType::kText},
      {"TIMESTAMP", PgType::kText},
      {"TIME", PgType::kText},
      {"JSONB", PgType::kJsonb},
      {"NCHAR(55)", PgType::kText},
      {"NVARCHAR(100)", PgType::kText},
      {"VARYING CHARACTER(255)", PgType::kText},
      {"NATIVE CHARACTER(70)", PgType::kText},
  });
}

TEST(PgTypeTest, MatchingIgnoresCaseSpacingAndSuffix) {
  ExpectMapped({
      {"varchar(32)", PgType::kText},
      {"  Double   Precision ", PgType::kDouble},
      {"double\tprecision", PgType::kDouble},
      {"json", PgType::kJsonb},
      {"Boolean", PgType::kBoolean},
      {"numeric (10,2)", PgType::kNumeric},
      {"   ", PgType::kBytea},
  });
}

TEST(PgTypeTest, UnknownNamesFollowSqliteAffinity) {
  ExpectMapped({
      {"UNSIGNED BIG INT", PgType::kBigint},  // contains INT
      {"INTERVAL", PgType::kBigint},          // contains INT, as SQLite says
      {"CHARACTER(20)", PgType::kText},       // contains CHAR
      {"LONGTEXT", PgType::kText},            // contains TEXT
      {"MY_BLOB_TYPE", PgType::kBytea},       // contains BLOB
      {"FLOAT8", PgType::kDouble},            // contains FLOA
      {"DOUBLE_WIDE", PgType::kDouble},       // contains DOUB
      {"REALLY", PgType::kDouble},            // contains REAL
      {"WEIRD", PgType::kNumeric},            // nothing matches: NUMERIC affinity
      {"MONEY", PgType::kNumeric},
      {"UUID", PgType::kNumeric},
  });
}

TEST(PgTypeTest, SqlSpellingAndToastability) {
  EXPECT_EQ(PgTypeSql(PgType::kBigint), "bigint");
  EXPECT_EQ(PgTypeSql(PgType::kBoolean), "boolean");
  EXPECT_EQ(PgTypeSql(PgType::kDouble), "double precision");
  EXPECT_EQ(PgTypeSql(PgType::kNumeric), "numeric");
  EXPECT_EQ(PgTypeSql(PgType::kText), "text");
  EXPECT_EQ(PgTypeSql(PgType::kBytea), "bytea");
  EXPECT_EQ(PgTypeSql(PgType::kJsonb), "jsonb");
  EXPECT_TRUE(PgTypeIsToastable(PgType::kText));
  EXPECT_TRUE(PgTypeIsToastable(PgType::kBytea));
  EXPECT_TRUE(PgTypeIsToastable(PgType::kJsonb));
  EXPECT_FALSE(PgTypeIsToastable(PgType::kBigint));
  EXPECT_FALSE(PgTypeIsToastable(PgType::kBoolean));
  EXPECT_FALSE(PgTypeIsToastable(PgType::kDouble));
  EXPECT_FALSE(PgTypeIsToastable(PgType::kNumeric));
}

TEST(PgTypeTest, ExistingColumnTypesMapBackToTheirRules) {
  EXPECT_EQ(PgTypeFromFormatType("bigint"), PgType::kBigint);
  EXPECT_EQ(PgTypeFromFormatType("integer"), PgType::kBigint);
  EXPECT_EQ(PgTypeFromFormatType("boolean"), PgType::kBoolean);
  EXPECT_EQ(PgTypeFromFormatType("double precision"), PgType::kDouble);
  EXPECT_EQ(PgTypeFromFormatType("numeric(10,2)"), PgType::kNumeric);
  EXPECT_EQ(PgTypeFromFormatType("bytea"), PgType::kBytea);
  EXPECT_EQ(PgTypeFromFormatType("jsonb"), PgType::kJsonb);
  EXPECT_EQ(PgTypeFromFormatType("character varying(20)"), PgType::kText);
  for (PgType t : {PgType::kBigint, PgType::kBoolean, PgType::kDouble, PgType::kNumeric,
                   PgType::kText, PgType::kBytea, PgType::kJsonb}) {
    EXPECT_EQ(PgTypeFromFormatType(PgTypeSql(t)), t) << PgTypeSql(t);
  }
}

}  // namespace
}  // namespace owsync::shipper
