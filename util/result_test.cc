#include "util/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace owsync {
namespace {

Result<int> Parse(const std::string& s) {
  if (s.empty()) return Status::InvalidArgument("empty");
  return static_cast<int>(s.size());
}

TEST(ResultTest, HoldsAValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(r.value_or(7), 42);
}

TEST(ResultTest, HoldsAnError) {
  Result<int> r = Status::NotFound("no such tenant");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "no such tenant");
  EXPECT_EQ(r.value_or(7), 7);
}

TEST(ResultTest, MoveOnlyValuesAndArrow) {
  Result<std::unique_ptr<std::string>> r = std::make_unique<std::string>("abc");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->size(), 3u);
  std::unique_ptr<std::string> owned = std::move(r).value();
  EXPECT_EQ(*owned, "abc");

  Result<std::string> s = std::string("xyz");
  EXPECT_EQ(s->size(), 3u);
  s->append("!");
  EXPECT_EQ(*s, "xyz!");
}

Result<int> SumOfLengths(const std::string& a, const std::string& b, int* reached) {
  OWSYNC_ASSIGN_OR_RETURN(int x, Parse(a));
  ++*reached;
  int y = 0;
  OWSYNC_ASSIGN_OR_RETURN(y, Parse(b));  // into an existing variable
  ++*reached;
  return x + y;
}

TEST(ResultTest, AssignOrReturnPropagatesTheFirstError) {
  int reached = 0;
  Result<int> ok = SumOfLengths("ab", "cde", &reached);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 5);
  EXPECT_EQ(reached, 2);

  reached = 0;
  Result<int> bad = SumOfLengths("ab", "", &reached);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reached, 1);

  reached = 0;
  EXPECT_FALSE(SumOfLengths("", "x", &reached).ok());
  EXPECT_EQ(reached, 0);
}

Status UsesBothMacros(const std::string& a, std::vector<int>* out) {
  OWSYNC_ASSIGN_OR_RETURN(auto first, Parse(a));
  OWSYNC_ASSIGN_OR_RETURN(auto second, Parse(a + a));  // two on different lines
  out->push_back(first);
  out->push_back(second);
  OWSYNC_RETURN_IF_ERROR(Status::OK());
  return Status::OK();
}

TEST(ResultTest, AssignOrReturnWorksInStatusFunctions) {
  std::vector<int> out;
  ASSERT_TRUE(UsesBothMacros("xy", &out).ok());
  EXPECT_EQ(out, (std::vector<int>{2, 4}));
  EXPECT_EQ(UsesBothMacros("", &out).code(), StatusCode::kInvalidArgument);
}

Result<std::unique_ptr<int>> MakeBox(bool fail) {
  if (fail) return Status::Unavailable("down");
  return std::make_unique<int>(9);
}

Result<int> Unbox(bool fail) {
  OWSYNC_ASSIGN_OR_RETURN(auto box, MakeBox(fail));  // moves a move-only value out
  return *box;
}

TEST(ResultTest, AssignOrReturnMovesMoveOnlyValues) {
  Result<int> ok = Unbox(false);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 9);
  Result<int> bad = Unbox(true);
  EXPECT_EQ(bad.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(bad.status().retryable());
}

}  // namespace
}  // namespace owsync
