#include "capture/index_terms.h"

#include <gtest/gtest.h>

namespace owsync::capture {
namespace {

using Terms = std::vector<std::string>;

TEST(IndexTermsTest, ReadsColumnsAndExpressionsWithoutOrder) {
  auto t = IndexTerms::Parse(
      "CREATE UNIQUE INDEX uq_user_email_lower ON \"user\" (lower(email), \"a b\" DESC, "
      "[c] COLLATE NOCASE ASC, substr(x, 1, 3))");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, (Terms{"lower(email)", "\"a b\"", "[c] COLLATE NOCASE", "substr(x, 1, 3)"}));
}

TEST(IndexTermsTest, QuotesAndCommentsDoNotConfuseIt) {
  auto t = IndexTerms::Parse(
      "CREATE UNIQUE INDEX \"on (\" ON \"t(,)\" /* ( */ (coalesce(a, ',)'), \"x\"\")\" -- )\n)"
      " WHERE a IS NOT NULL");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, (Terms{"coalesce(a, ',)')", "\"x\"\")\""}));
}

TEST(IndexTermsTest, MissingOrUnclosedListIsInvalid) {
  EXPECT_FALSE(IndexTerms::Parse("CREATE INDEX i ON t").ok());
  EXPECT_FALSE(IndexTerms::Parse("CREATE INDEX i ON t (a, lower(b)").ok());
  EXPECT_FALSE(IndexTerms::Parse("CREATE INDEX i ON t (a, )").ok());
}

TEST(IndexTermsTest, QualifiesColumnReferencesOnly) {
  const std::vector<std::string> cols = {"email", "a b", "Text", "lower"};
  EXPECT_EQ(IndexTerms::Qualify("lower(email)", cols, "NEW"), "lower(NEW.\"email\")");
  EXPECT_EQ(IndexTerms::Qualify("lower(EMAIL) COLLATE nocase", cols, "NEW"),
            "lower(NEW.\"email\") COLLATE nocase");
  EXPECT_EQ(IndexTerms::Qualify("\"a b\" || [email]", cols, "NEW"), "NEW.\"a b\" || NEW.\"email\"");
  EXPECT_EQ(IndexTerms::Qualify("CAST(email AS text)", cols, "NEW"), "CAST(NEW.\"email\" AS text)");
  EXPECT_EQ(IndexTerms::Qualify("'email' || \"unknown\" || t.email", cols, "NEW"),
            "'email' || \"unknown\" || t.email");
  EXPECT_EQ(IndexTerms::Qualify("lower", cols, "NEW"), "NEW.\"lower\"");
}

}  // namespace
}  // namespace owsync::capture
