#include "canonical/row_digest.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace owsync::canonical {
namespace {

using outbox::Value;

std::string Form(TargetType t, const Value& v) {
  std::string out;
  RowDigest::AppendValue(t, v, &out);
  return out;
}

TEST(RowDigestTest, ValuesTheEncoderStoresAlikeHaveOneForm) {
  // numeric: an integral real is the integer it equals.
  EXPECT_EQ(Form(TargetType::kNumeric, Value::Real(5.0)),
            Form(TargetType::kNumeric, Value::Integer(5)));
  EXPECT_NE(Form(TargetType::kNumeric, Value::Real(5.5)),
            Form(TargetType::kNumeric, Value::Integer(5)));
  // double: an integer a double holds is that double.
  EXPECT_EQ(Form(TargetType::kDouble, Value::Integer(3)),
            Form(TargetType::kDouble, Value::Real(3.0)));
  // text: numbers as their text.
  EXPECT_EQ(Form(TargetType::kText, Value::Integer(42)),
            Form(TargetType::kText, Value::Text("42")));
  EXPECT_EQ(Form(TargetType::kText, Value::Real(0.1)), Form(TargetType::kText, Value::Text("0.1")));
  // bytea: text and blob with the same bytes.
  EXPECT_EQ(Form(TargetType::kBytea, Value::Text("ab")),
            Form(TargetType::kBytea, Value::Blob("ab")));
  // jsonb: by meaning.
  EXPECT_EQ(Form(TargetType::kJsonb, Value::Text("{\"a\": 1.0}")),
            Form(TargetType::kJsonb, Value::Text("{\"a\":1}")));
  EXPECT_EQ(Form(TargetType::kJsonb, Value::Integer(7)),
            Form(TargetType::kJsonb, Value::Text("7")));
  // NaN: every payload is one.
  EXPECT_EQ(Form(TargetType::kDouble, Value::Real(std::nan("1"))),
            Form(TargetType::kDouble, Value::Real(-std::numeric_limits<double>::quiet_NaN())));
}

TEST(RowDigestTest, DifferentValuesAndMisfitsDiffer) {
  EXPECT_NE(Form(TargetType::kDouble, Value::Real(0.0)),
            Form(TargetType::kDouble, Value::Real(-0.0)));
  EXPECT_NE(Form(TargetType::kText, Value::Text("a")), Form(TargetType::kText, Value::Text("A")));
  EXPECT_NE(Form(TargetType::kText, Value::Null()), Form(TargetType::kText, Value::Text("")));
  // A value that does not fit its column has a form no PostgreSQL value has.
  EXPECT_EQ(Form(TargetType::kBigint, Value::Text("x")).front(), '?');
  EXPECT_EQ(Form(TargetType::kBoolean, Value::Integer(2)).front(), '?');
  EXPECT_EQ(Form(TargetType::kJsonb, Value::Text("not json")).front(), '?');
  EXPECT_EQ(Form(TargetType::kText, Value::Blob("x")).front(), '?');
  // Column boundaries count: ("ab", "") is not ("a", "b").
  const auto fam = RowDigest::FamiliesOf({"TEXT", "TEXT"});
  EXPECT_NE(RowDigest::Of(fam, {Value::Text("ab"), Value::Text("")}),
            RowDigest::Of(fam, {Value::Text("a"), Value::Text("b")}));
}

}  // namespace
}  // namespace owsync::canonical
