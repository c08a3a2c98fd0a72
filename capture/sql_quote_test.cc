#include "capture/sql_quote.h"

#include <gtest/gtest.h>

namespace owsync::capture {
namespace {

TEST(SqlQuoteTest, IdentifiersDoubleTheirQuotes) {
  EXPECT_EQ(QuoteIdentifier("user"), "\"user\"");
  EXPECT_EQ(QuoteIdentifier("we\"ird"), "\"we\"\"ird\"");
  EXPECT_EQ(QuoteIdentifier(""), "\"\"");
  EXPECT_EQ(QuoteIdentifierList({"a", "b c"}), "\"a\", \"b c\"");
}

TEST(SqlQuoteTest, LiteralsDoubleTheirQuotes) {
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(QuoteLiteral("\"x\""), "'\"x\"'");
}

TEST(SqlQuoteTest, IdentifiersCompareAsciiCaseInsensitively) {
  EXPECT_TRUE(IdentifierEquals("User", "uSER"));
  EXPECT_FALSE(IdentifierEquals("user", "users"));
  EXPECT_FALSE(IdentifierEquals("\xc3\x84", "\xc3\xa4"));  // only ASCII folds, like SQLite
  EXPECT_TRUE(IdentifierHasPrefix("_OWSYNC_changes", "_owsync_"));
  EXPECT_FALSE(IdentifierHasPrefix("_ows", "_owsync_"));
}

}  // namespace
}  // namespace owsync::capture
