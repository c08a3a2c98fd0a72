#include "outbox/record_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "outbox/outbox_testing.h"

namespace owsync::outbox {
namespace {

double FromBits(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof(d));
  return d;
}

Record Nasty() {
  Record r;
  r.offset = 18446744073709551615ull;
  r.source_seq = 7;
  r.type = RecordType::kUpsert;
  r.table = "t\xff";
  r.key = {Value::Text(std::string("k\0ey", 4))};
  r.row = {Value::Null(),
           Value::Integer(std::numeric_limits<int64_t>::min()),
           Value::Integer(std::numeric_limits<int64_t>::max()),
           Value::Real(-0.0),
           Value::Real(0.1),
           Value::Real(std::numeric_limits<double>::infinity()),
           Value::Real(-std::numeric_limits<double>::infinity()),
           Value::Real(FromBits(0x7ff0000000000001ull)),
           Value::Real(FromBits(0xfff8000000000abcull)),
           Value::Real(std::numeric_limits<double>::denorm_min()),
           Value::Text("h\xc3\xa9llo \xf0\x9f\x98\x80"),
           Value::Text("bad \xc3\x28"),
           Value::Text(""),
           Value::Blob(""),
           Value::Blob(std::string("\0\xff\x01", 3))};
  return r;
}

TEST(RecordJsonTest, EveryValueKindRoundTripsExactly) {
  const Record in = Nasty();
  const std::string json = RecordJson::ToJson(in);
  auto out = RecordJson::FromJson(json);
  ASSERT_TRUE(out.ok()) << out.status().ToString() << "\n" << json;
  EXPECT_EQ(*out, in) << json;
}

TEST(RecordJsonTest, EncodingIsReadable) {
  const std::string json = RecordJson::ToJson(Nasty());
  EXPECT_NE(json.find(R"("table":{"text_base64":"dP8="})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("key":["k\u0000ey"])"), std::string::npos) << json;
  EXPECT_NE(json.find(R"(-9223372036854775808,9223372036854775807)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"({"real":"-0"})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"({"real":"0.1"})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"({"real":"inf"},{"real":"-inf"})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"({"bits":"7ff0000000000001","real":"nan"})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"({"text_base64":"YmFkIMMo"})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"({"blob_base64":""})"), std::string::npos) << json;
  EXPECT_NE(json.find(R"({"blob_base64":"AP8B"})"), std::string::npos) << json;
  EXPECT_NE(json.find("\"h\xc3\xa9llo"), std::string::npos) << json;
}

TEST(RecordJsonTest, SchemaAndSnapshotRecordsRoundTrip) {
  Record schema;
  schema.type = RecordType::kSchema;
  schema.offset = 3;
  schema.table = "tag";
  schema.columns = {{"id", "TEXT", 1, true}, {"user_id", "TEXT", 2, true}, {"meta", "", 0, false}};
  Record end;
  end.type = RecordType::kSnapshotEnd;
  end.offset = 10;
  end.table = "tag";
  end.snapshot_begin_offset = 4;
  for (const Record& r : {schema, end, testing::TestRecord(5)}) {
    auto out = RecordJson::FromJson(RecordJson::ToJson(r));
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(*out, r);
  }
  EXPECT_EQ(RecordJson::ToText(end), "10 snapshot_end \"tag\" seq=0 begin=4");
}

TEST(RecordJsonTest, MalformedJsonIsInvalidArgument) {
  for (const char* bad :
       {"", "[]", "{", R"({"type":"nope"})", R"({"row":[1.5]})", R"({"row":[{"real":"x"}]})",
        R"({"row":[{"real":"nan"}]})", R"({"row":[{"real":"nan","bits":"0000000000000000"}]})",
        R"({"row":[{"blob_base64":"A"}]})", R"({"row":[18446744073709551615]})", R"({"offset":-1})",
        R"({"extra":1})"}) {
    auto r = RecordJson::FromJson(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(RecordJsonTest, Utf8ValidationIsStrict) {
  EXPECT_TRUE(RecordJson::IsValidUtf8(""));
  EXPECT_TRUE(RecordJson::IsValidUtf8(std::string("a\0b", 3)));
  EXPECT_TRUE(RecordJson::IsValidUtf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF
  EXPECT_FALSE(RecordJson::IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(RecordJson::IsValidUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(RecordJson::IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(RecordJson::IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(RecordJson::IsValidUtf8("\xe2\x82"));          // cut off
  EXPECT_FALSE(RecordJson::IsValidUtf8("\x80"));              // stray continuation
}

TEST(RecordJsonTest, Base64RoundTripsEveryLength) {
  std::mt19937 rng(5);
  for (size_t n = 0; n < 100; ++n) {
    std::string bytes(n, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    auto back = RecordJson::FromBase64(RecordJson::Base64(bytes));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, bytes);
  }
  EXPECT_EQ(RecordJson::Base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(RecordJson::Base64("fo"), "Zm8=");
  EXPECT_FALSE(RecordJson::FromBase64("Zm9=").ok());  // non-canonical padding bits
}

}  // namespace
}  // namespace owsync::outbox
