#include "shipper/record_key.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

namespace owsync::shipper {
namespace {

using outbox::Value;

TEST(RecordKeyTest, IntegersAndTextAreACommaSpaceSeparatedJsonArray) {
  EXPECT_EQ(RecordKeyJson({Value::Integer(42)}), "[42]");
  EXPECT_EQ(RecordKeyJson({Value::Text("abc"), Value::Integer(-7)}), "[\"abc\", -7]");
  EXPECT_EQ(RecordKeyJson({Value::Integer(std::numeric_limits<int64_t>::min()),
                           Value::Integer(std::numeric_limits<int64_t>::max())}),
            "[-9223372036854775808, 9223372036854775807]");
  EXPECT_EQ(RecordKeyJson({Value::Null()}), "[null]");
  EXPECT_EQ(RecordKeyJson({}), "[]");
}

TEST(RecordKeyTest, TextIsEscapedLikePostgresToJson) {
  EXPECT_EQ(RecordKeyJson({Value::Text("a\"b\\c\nd\te\r\b\f")}),
            "[\"a\\\"b\\\\c\\nd\\te\\r\\b\\f\"]");
  EXPECT_EQ(RecordKeyJson({Value::Text(std::string("x\x01y\x1f", 4))}), "[\"x\\u0001y\\u001f\"]");
  // Non-ASCII and DEL stay as they are; '/' is not escaped.
  EXPECT_EQ(RecordKeyJson({Value::Text("ü/€\x7f")}), "[\"ü/€\x7f\"]");
}

TEST(RecordKeyTest, BlobsAndTextThatCannotBePostgresTextAreHex) {
  EXPECT_EQ(RecordKeyJson({Value::Blob(std::string("\x00\xff"
                                                   "A",
                                                   3))}),
            "[\"\\\\x00ff41\"]");
  EXPECT_EQ(RecordKeyJson({Value::Text(std::string("a\0b", 3))}), "[\"\\\\x610062\"]");
  EXPECT_EQ(RecordKeyJson({Value::Text("\xc3\x28")}), "[\"\\\\xc328\"]");
}

TEST(RecordKeyTest, RealsUsePostgresFloat8Output) {
  EXPECT_EQ(RecordKeyJson({Value::Real(1.5)}), "[1.5]");
  EXPECT_EQ(RecordKeyJson({Value::Real(-0.0)}), "[-0]");
  EXPECT_EQ(RecordKeyJson({Value::Real(std::nan(""))}), "[\"NaN\"]");
  EXPECT_EQ(RecordKeyJson({Value::Real(HUGE_VAL), Value::Real(-HUGE_VAL)}),
            "[\"Infinity\", \"-Infinity\"]");
  EXPECT_EQ(PgFloat8Text(0.1), "0.1");
  EXPECT_EQ(PgFloat8Text(1.0), "1");
  EXPECT_EQ(PgFloat8Text(-123.456), "-123.456");
  EXPECT_EQ(PgFloat8Text(1e14), "100000000000000");
  EXPECT_EQ(PgFloat8Text(1e15), "1e+15");
  EXPECT_EQ(PgFloat8Text(0.0001), "0.0001");
  EXPECT_EQ(PgFloat8Text(0.00001), "1e-05");
  EXPECT_EQ(PgFloat8Text(1.5e-7), "1.5e-07");
  EXPECT_EQ(PgFloat8Text(1e300), "1e+300");
  EXPECT_EQ(PgFloat8Text(123456789012.5), "123456789012.5");
  EXPECT_EQ(PgFloat8Text(std::numeric_limits<double>::denorm_min()), "5e-324");
  EXPECT_EQ(PgFloat8Text(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
  for (double v : {0.1, 1e-300, 3.141592653589793, 2.5e15, 9007199254740993.0}) {
    EXPECT_EQ(std::strtod(PgFloat8Text(v).c_str(), nullptr), v) << PgFloat8Text(v);
  }
}

}  // namespace
}  // namespace owsync::shipper
