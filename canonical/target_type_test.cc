#include "canonical/target_type.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace owsync::canonical {
namespace {

void ExpectMapped(const std::vector<std::pair<std::string, TargetType>>& cases) {
  for (const auto& [declared, type] : cases) {
    EXPECT_EQ(TargetTypeSql(TargetTypeForDeclared(declared)), TargetTypeSql(type))
        << "declared \"" << declared << "\"";
  }
}

TEST(TargetTypeTest, OpenWebUiDeclaredTypes) {
  ExpectMapped({
      {"VARCHAR(32)", TargetType::kText},
      {"VARCHAR(255)", TargetType::kText},
      {"BIGINT", TargetType::kBigint},
      {"INTEGER", TargetType::kBigint},
      {"BOOLEAN", TargetType::kBoolean},
      {"JSON", TargetType::kJsonb},
      {"TEXT", TargetType::kText},
      {"DATE", TargetType::kText},
      {"DATETIME", TargetType::kText},
      {"", TargetType::kBytea},
      {"DOUBLE PRECISION", TargetType::kDouble},
      {"NUMERIC(10,2)", TargetType::kNumeric},
      {"FLOAT", TargetType::kDouble},
      {"INT8", TargetType::kBigint},
      {"BLOB", TargetType::kBytea},
  });
}

TEST(TargetTypeTest, NamedTypesOfEachFamily) {
  ExpectMapped({
      {"INT", TargetType::kBigint},
      {"SMALLINT", TargetType::kBigint},
      {"TINYINT", TargetType::kBigint},
      {"MEDIUMINT", TargetType::kBigint},
      {"INT2", TargetType::kBigint},
      {"BOOL", TargetType::kBoolean},
      {"REAL", TargetType::kDouble},
      {"DOUBLE", TargetType::kDouble},
      {"NUMERIC", TargetType::kNumeric},
      {"DECIMAL(10, 5)", TargetType::kNumeric},
      {"CHAR(1)", TargetType::kText},
      {"CLOB", TargetType::kText},
      {"TIMESTAMP", TargetType::kText},
      {"TIME", TargetType::kText},
      {"JSONB", TargetType::kJsonb},
      {"NCHAR(55)", TargetType::kText},
      {"NVARCHAR(100)", TargetType::kText},
      {"VARYING CHARACTER(255)", TargetType::kText},
      {"NATIVE CHARACTER(70)", TargetType::kText},
  });
}

TEST(TargetTypeTest, MatchingIgnoresCaseSpacingAndSuffix) {
  ExpectMapped({
      {"varchar(32)", TargetType::kText},
      {"  Double   Precision ", TargetType::kDouble},
      {"double\tprecision", TargetType::kDouble},
      {"json", TargetType::kJsonb},
      {"Boolean", TargetType::kBoolean},
      {"numeric (10,2)", TargetType::kNumeric},
      {"   ", TargetType::kBytea},
  });
}

TEST(TargetTypeTest, UnknownNamesFollowSqliteAffinity) {
  ExpectMapped({
      {"UNSIGNED BIG INT", TargetType::kBigint},  // contains INT
      {"INTERVAL", TargetType::kBigint},          // contains INT, as SQLite says
      {"CHARACTER(20)", TargetType::kText},       // contains CHAR
      {"LONGTEXT", TargetType::kText},            // contains TEXT
      {"MY_BLOB_TYPE", TargetType::kBytea},       // contains BLOB
      {"FLOAT8", TargetType::kDouble},            // contains FLOA
      {"DOUBLE_WIDE", TargetType::kDouble},       // contains DOUB
      {"REALLY", TargetType::kDouble},            // contains REAL
      {"WEIRD", TargetType::kNumeric},            // nothing matches: NUMERIC affinity
      {"MONEY", TargetType::kNumeric},
      {"UUID", TargetType::kNumeric},
  });
}

TEST(TargetTypeTest, SqlSpellingAndToastability) {
  EXPECT_EQ(TargetTypeSql(TargetType::kBigint), "bigint");
  EXPECT_EQ(TargetTypeSql(TargetType::kBoolean), "boolean");
  EXPECT_EQ(TargetTypeSql(TargetType::kDouble), "double precision");
  EXPECT_EQ(TargetTypeSql(TargetType::kNumeric), "numeric");
  EXPECT_EQ(TargetTypeSql(TargetType::kText), "text");
  EXPECT_EQ(TargetTypeSql(TargetType::kBytea), "bytea");
  EXPECT_EQ(TargetTypeSql(TargetType::kJsonb), "jsonb");
  EXPECT_TRUE(TargetTypeIsToastable(TargetType::kText));
  EXPECT_TRUE(TargetTypeIsToastable(TargetType::kBytea));
  EXPECT_TRUE(TargetTypeIsToastable(TargetType::kJsonb));
  EXPECT_FALSE(TargetTypeIsToastable(TargetType::kBigint));
  EXPECT_FALSE(TargetTypeIsToastable(TargetType::kBoolean));
  EXPECT_FALSE(TargetTypeIsToastable(TargetType::kDouble));
  EXPECT_FALSE(TargetTypeIsToastable(TargetType::kNumeric));
}

TEST(TargetTypeTest, ExistingColumnTypesMapBackToTheirRules) {
  EXPECT_EQ(TargetTypeFromFormatType("bigint"), TargetType::kBigint);
  EXPECT_EQ(TargetTypeFromFormatType("integer"), TargetType::kBigint);
  EXPECT_EQ(TargetTypeFromFormatType("boolean"), TargetType::kBoolean);
  EXPECT_EQ(TargetTypeFromFormatType("double precision"), TargetType::kDouble);
  EXPECT_EQ(TargetTypeFromFormatType("numeric(10,2)"), TargetType::kNumeric);
  EXPECT_EQ(TargetTypeFromFormatType("bytea"), TargetType::kBytea);
  EXPECT_EQ(TargetTypeFromFormatType("jsonb"), TargetType::kJsonb);
  EXPECT_EQ(TargetTypeFromFormatType("character varying(20)"), TargetType::kText);
  for (TargetType t :
       {TargetType::kBigint, TargetType::kBoolean, TargetType::kDouble, TargetType::kNumeric,
        TargetType::kText, TargetType::kBytea, TargetType::kJsonb}) {
    EXPECT_EQ(TargetTypeFromFormatType(TargetTypeSql(t)), t) << TargetTypeSql(t);
  }
}

}  // namespace
}  // namespace owsync::canonical
