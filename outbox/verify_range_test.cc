#include "outbox/verify_range.h"

#include <gtest/gtest.h>

#include "outbox/record_codec.h"

namespace owsync::outbox {
namespace {

VerifyRange Sample(bool upper, bool keys_only) {
  VerifyRange v;
  v.table = "tag";
  v.columns = {Column{"id", "TEXT", 1, true}, Column{"user_id", "TEXT", 2, true},
               Column{"name", "TEXT", 0, false}};
  v.lower = {Value::Text("a"), Value::Text("u1")};
  if (upper) v.upper = {Value::Text("m"), Value::Text("u9")};
  v.keys_only = keys_only;
  v.entries = {{{Value::Text("b"), Value::Text("u1")}, 0x0123456789abcdefull},
               {{Value::Text("c"), Value::Blob(std::string("\0x", 2))}, 42}};
  return v;
}

TEST(VerifyRangeTest, RoundTripsThroughTheRecordEncoding) {
  for (bool upper : {false, true}) {
    for (bool keys_only : {false, true}) {
      const VerifyRange v = Sample(upper, keys_only);
      Record r = v.ToRecord();
      EXPECT_EQ(r.type, RecordType::kVerify);
      std::string bytes;
      EncodeRecord(r, &bytes);
      Record back;
      ASSERT_TRUE(DecodeRecord(bytes, &back).ok());
      auto decoded = VerifyRange::FromRecord(back);
      ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
      EXPECT_EQ(*decoded, v);
    }
  }
}

TEST(VerifyRangeTest, MalformedVerifyRecordsAreCorruption) {
  Record r = Sample(true, false).ToRecord();
  Record cut = r;
  cut.row.pop_back();
  EXPECT_EQ(VerifyRange::FromRecord(cut).status().code(), StatusCode::kCorruption);
  Record flags = r;
  flags.row[0] = Value::Integer(8);
  EXPECT_EQ(VerifyRange::FromRecord(flags).status().code(), StatusCode::kCorruption);
  Record digest = r;
  digest.row.back() = Value::Blob("short");
  EXPECT_EQ(VerifyRange::FromRecord(digest).status().code(), StatusCode::kCorruption);
  Record nokey = r;
  for (auto& c : nokey.columns) c.key_position = 0;
  EXPECT_EQ(VerifyRange::FromRecord(nokey).status().code(), StatusCode::kCorruption);
}

TEST(VerifyRangeTest, AnEmptyTableIsOneRangeWithoutEntries) {
  VerifyRange v;
  v.table = "t";
  v.columns = {Column{"id", "INTEGER", 1, true}};
  auto back = VerifyRange::FromRecord(v.ToRecord());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->lower.empty());
  EXPECT_TRUE(back->upper.empty());
  EXPECT_TRUE(back->entries.empty());
}

}  // namespace
}  // namespace owsync::outbox
