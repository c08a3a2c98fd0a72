#include "shipper/pg_error.h"

#include <gtest/gtest.h>

namespace owsync::shipper {
namespace {

TEST(PgErrorTest, ConnectionClassIsRetryableUnavailable) {
  for (const char* s : {"08000", "08003", "08006", "08001", "57P01", "57P02", "57P03"}) {
    PgErrorClass c = ClassifySqlState(s);
    EXPECT_EQ(c.code, StatusCode::kUnavailable) << s;
    EXPECT_TRUE(c.retryable) << s;
  }
}

TEST(PgErrorTest, SerializationAndDeadlockAreRetryable) {
  for (const char* s : {"40001", "40P01"}) {
    PgErrorClass c = ClassifySqlState(s);
    EXPECT_EQ(c.code, StatusCode::kAborted) << s;
    EXPECT_TRUE(c.retryable) << s;
  }
}

TEST(PgErrorTest, LockNotAvailableIsRetryableBusy) {
  PgErrorClass c = ClassifySqlState("55P03");
  EXPECT_EQ(c.code, StatusCode::kBusy);
  EXPECT_TRUE(c.retryable);
}

TEST(PgErrorTest, QueryCanceledAndResourceErrorsAreRetryable) {
  for (const char* s : {"57014", "53300", "53100"}) {
    EXPECT_TRUE(ClassifySqlState(s).retryable) << s;
    EXPECT_EQ(ClassifySqlState(s).code, StatusCode::kUnavailable) << s;
  }
}

TEST(PgErrorTest, DataAndConstraintErrorsAreDataErrors) {
  // Also what one row's values cause beyond classes 22 and 23: an index row too large
  // (54000) and one key twice in an upsert (21000).
  for (const char* s : {"22P02", "22021", "22003", "23505", "23502", "23514", "54000", "21000"}) {
    PgErrorClass c = ClassifySqlState(s);
    EXPECT_EQ(c.code, StatusCode::kDataError) << s;
    EXPECT_FALSE(c.retryable) << s;
  }
}

TEST(PgErrorTest, InsufficientPrivilegeIsPermissionDenied) {
  PgErrorClass c = ClassifySqlState("42501");
  EXPECT_EQ(c.code, StatusCode::kPermissionDenied);
  EXPECT_FALSE(c.retryable);
}

TEST(PgErrorTest, OthersAreInternalAndNotRetryable) {
  for (const char* s :
       {"42P01", "42601", "XX000", "55000", "25P02", "54001", "", "4200", "42p01"}) {
    PgErrorClass c = ClassifySqlState(s);
    EXPECT_EQ(c.code, StatusCode::kInternal) << s;
    EXPECT_FALSE(c.retryable) << s;
  }
}

TEST(PgErrorTest, SqlStateSurvivesContext) {
  Status s = PgServerError("42501", "permission denied for table hosts");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "[SQLSTATE 42501] permission denied for table hosts");
  EXPECT_EQ(SqlStateOf(s), "42501");
  Status wrapped = s.WithContext("claiming tenant acme").WithContext("batch 7");
  EXPECT_EQ(SqlStateOf(wrapped), "42501");
  EXPECT_EQ(wrapped.code(), StatusCode::kPermissionDenied);
}

TEST(PgErrorTest, ServerErrorCarriesRetryableBit) {
  EXPECT_TRUE(PgServerError("40001", "could not serialize").retryable());
  EXPECT_FALSE(PgServerError("23505", "duplicate key").retryable());
}

TEST(PgErrorTest, NoSqlStateWhenNoneWasCarried) {
  EXPECT_EQ(SqlStateOf(Status::OK()), "");
  EXPECT_EQ(SqlStateOf(Status::Unavailable("connection refused")), "");
  EXPECT_EQ(SqlStateOf(Status::Internal("[SQLSTATE 42] short")), "");
  EXPECT_EQ(SqlStateOf(Status::Internal("[SQLSTATE abcde] lower case")), "");
  EXPECT_EQ(SqlStateOf(Status::Internal("x [SQLSTATE 4250 y [SQLSTATE 23505] z")), "23505");
}

TEST(PgErrorTest, ConnectionErrorIsRetryableWithoutSqlState) {
  Status s = PgConnectionError("server closed the connection unexpectedly");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(s.retryable());
  EXPECT_EQ(SqlStateOf(s), "");
}

TEST(PgErrorTest, ConnectFailuresAreClassifiedByMessage) {
  EXPECT_EQ(PgConnectFailure("FATAL:  password authentication failed for user \"x\"").code(),
            StatusCode::kPermissionDenied);
  EXPECT_FALSE(PgConnectFailure("FATAL:  password authentication failed").retryable());
  EXPECT_EQ(PgConnectFailure("FATAL:  no pg_hba.conf entry for host").code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(PgConnectFailure("FATAL:  role \"nobody\" does not exist").code(),
            StatusCode::kNotFound);
  EXPECT_EQ(PgConnectFailure("FATAL:  database \"nope\" does not exist").code(),
            StatusCode::kNotFound);
  Status refused = PgConnectFailure(
      "connection to server at \"127.0.0.1\", port 1 failed: "
      "Connection refused");
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(refused.retryable());
  EXPECT_TRUE(PgConnectFailure("FATAL:  the database system is starting up").retryable());
}

}  // namespace
}  // namespace owsync::shipper
