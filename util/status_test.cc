#include "util/status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace owsync {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_FALSE(s.retryable());
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(Status::OK().ok());
}

TEST(StatusTest, FactoriesSetCodeMessageAndRetryableBit) {
  struct Case {
    Status status;
    StatusCode code;
    bool retryable;
    const char* name;
  };
  const Case cases[] = {
      {Status::NotFound("m"), StatusCode::kNotFound, false, "NotFound"},
      {Status::Corruption("m"), StatusCode::kCorruption, false, "Corruption"},
      {Status::InvalidArgument("m"), StatusCode::kInvalidArgument, false, "InvalidArgument"},
      {Status::IOError("m"), StatusCode::kIOError, false, "IOError"},
      {Status::NoSpace("m"), StatusCode::kNoSpace, true, "NoSpace"},
      {Status::NotSupported("m"), StatusCode::kNotSupported, false, "NotSupported"},
      {Status::AlreadyExists("m"), StatusCode::kAlreadyExists, false, "AlreadyExists"},
      {Status::FailedPrecondition("m"), StatusCode::kFailedPrecondition, false,
       "FailedPrecondition"},
      {Status::Unavailable("m"), StatusCode::kUnavailable, true, "Unavailable"},
      {Status::Busy("m"), StatusCode::kBusy, true, "Busy"},
      {Status::PermissionDenied("m"), StatusCode::kPermissionDenied, false, "PermissionDenied"},
      {Status::DataError("m"), StatusCode::kDataError, false, "DataError"},
      {Status::Aborted("m"), StatusCode::kAborted, false, "Aborted"},
      {Status::Internal("m"), StatusCode::kInternal, false, "Internal"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.retryable(), c.retryable);
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(StatusCodeName(c.code), c.name);
    EXPECT_EQ(c.status.ToString(), std::string(c.name) + ": m");
  }
  EXPECT_TRUE(Status::NotFound("x").IsNotFound());
  EXPECT_TRUE(Status::Corruption("x").IsCorruption());
  EXPECT_TRUE(Status::NoSpace("x").IsNoSpace());
  EXPECT_FALSE(Status::IOError("x").IsNotFound());
}

TEST(StatusTest, ConstructingWithOkCodeGivesOk) {
  Status s(StatusCode::kOk, "ignored", true);
  EXPECT_TRUE(s.ok());
  EXPECT_FALSE(s.retryable());
}

TEST(StatusTest, WithContextPrefixesTheMessageAndKeepsCodeAndBit) {
  Status s = Status::Busy("database is locked").WithContext("tenant acme");
  EXPECT_EQ(s.code(), StatusCode::kBusy);
  EXPECT_TRUE(s.retryable());
  EXPECT_EQ(s.message(), "tenant acme: database is locked");
  EXPECT_EQ(s.WithContext("ship").message(), "ship: tenant acme: database is locked");
  EXPECT_TRUE(Status::OK().WithContext("anything").ok());
}

TEST(StatusTest, WithRetryableChangesOnlyTheBit) {
  Status s = Status::IOError("eio").WithRetryable(true);
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_TRUE(s.retryable());
  EXPECT_EQ(s.message(), "eio");
  EXPECT_FALSE(s.WithRetryable(false).retryable());
  EXPECT_TRUE(Status::OK().WithRetryable(true).ok());
  EXPECT_FALSE(Status::OK().WithRetryable(true).retryable());
}

TEST(StatusTest, CopiesAreDeepAndMovesLeaveAValidStatus) {
  Status a = Status::Corruption("bad crc");
  Status b = a;
  EXPECT_EQ(b.ToString(), "Corruption: bad crc");
  a = Status::OK();
  EXPECT_EQ(b.message(), "bad crc");
  Status c = std::move(b);
  EXPECT_EQ(c.code(), StatusCode::kCorruption);
  Status d;
  d = c;
  EXPECT_EQ(d.message(), "bad crc");
  d = d;  // self-assignment keeps the value
  EXPECT_EQ(d.message(), "bad crc");
}

TEST(StatusTest, ErrnoStatusMapsErrnoToCodes) {
  struct Case {
    int err;
    StatusCode code;
    bool retryable;
  };
  const Case cases[] = {
      {ENOENT, StatusCode::kNotFound, false},
      {ENOSPC, StatusCode::kNoSpace, true},
      {EDQUOT, StatusCode::kNoSpace, true},
      {EACCES, StatusCode::kPermissionDenied, false},
      {EPERM, StatusCode::kPermissionDenied, false},
      {EEXIST, StatusCode::kAlreadyExists, false},
      {EWOULDBLOCK, StatusCode::kBusy, true},
      {EINTR, StatusCode::kIOError, true},
      {EIO, StatusCode::kIOError, false},
      {EROFS, StatusCode::kIOError, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.err);
    Status s = ErrnoStatus("/some/path", c.err);
    EXPECT_EQ(s.code(), c.code);
    EXPECT_EQ(s.retryable(), c.retryable);
    EXPECT_EQ(s.message().rfind("/some/path: ", 0), 0u) << s.message();
    EXPECT_GT(s.message().size(), std::string("/some/path: ").size());
  }
}

Status FailIf(bool fail) { return fail ? Status::Aborted("fenced") : Status::OK(); }

Status TwoSteps(bool fail_first, bool fail_second, int* reached) {
  OWSYNC_RETURN_IF_ERROR(FailIf(fail_first));
  ++*reached;
  OWSYNC_RETURN_IF_ERROR(FailIf(fail_second).WithContext("second"));
  ++*reached;
  return Status::OK();
}

TEST(StatusTest, ReturnIfErrorStopsAtTheFirstError) {
  int reached = 0;
  EXPECT_TRUE(TwoSteps(false, false, &reached).ok());
  EXPECT_EQ(reached, 2);
  reached = 0;
  Status s = TwoSteps(false, true, &reached);
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_EQ(s.message(), "second: fenced");
  EXPECT_EQ(reached, 1);
  reached = 0;
  EXPECT_FALSE(TwoSteps(true, false, &reached).ok());
  EXPECT_EQ(reached, 0);
}

}  // namespace
}  // namespace owsync
