#include "outbox/record_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace owsync::outbox {
namespace {

double DoubleFromBits(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof(d));
  return d;
}

uint64_t BitsOf(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof(bits));
  return bits;
}

Record RoundTrip(const Record& in) {
  std::string bytes;
  EncodeRecord(in, &bytes);
  EXPECT_EQ(bytes.size(), EncodedRecordSize(in));
  Record out;
  out.offset = in.offset;
  Status s = DecodeRecord(bytes, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

Record UpsertOf(std::vector<Value> row) {
  Record r;
  r.type = RecordType::kUpsert;
  r.source_seq = 42;
  r.table = "chat";
  r.key = {row.empty() ? Value::Null() : row.front()};
  r.row = std::move(row);
  return r;
}

Record Everything() {
  Record r;
  r.type = RecordType::kSchema;
  r.source_seq = std::numeric_limits<uint64_t>::max();
  r.table = std::string("we\0ird \"table\" \xff", 17);
  r.key = {Value::Integer(std::numeric_limits<int64_t>::min()), Value::Text("k")};
  r.row = {Value::Null(), Value::Real(-0.0), Value::Blob(std::string("\0\1", 2))};
  r.columns = {{"id", "TEXT", 1, true}, {"", "", 0, false}, {"data", "JSON", 0, false}};
  r.snapshot_begin_offset = 12345678901234ull;
  return r;
}

TEST(RecordCodecTest, IntegerExtremesRoundTrip) {
  for (int64_t v : {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
                    int64_t{0}, int64_t{-1}, int64_t{1}, int64_t{63}, int64_t{-64}, int64_t{64}}) {
    const Record in = UpsertOf({Value::Integer(v)});
    const Record out = RoundTrip(in);
    EXPECT_EQ(out, in);
    EXPECT_EQ(out.row[0].integer, v);
  }
}

TEST(RecordCodecTest, RealsRoundTripBitForBit) {
  const std::vector<double> reals = {
      0.0,
      -0.0,
      std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(),
      std::numeric_limits<double>::quiet_NaN(),
      DoubleFromBits(0x7ff0000000000001ull),  // signalling NaN with payload 1
      DoubleFromBits(0xfff8dead0000beefull),  // negative NaN with a payload
      std::numeric_limits<double>::denorm_min(),
      std::numeric_limits<double>::max(),
      0.1};
  for (double d : reals) {
    const Record out = RoundTrip(UpsertOf({Value::Real(d)}));
    ASSERT_EQ(out.row[0].type, ValueType::kReal);
    EXPECT_EQ(BitsOf(out.row[0].real), BitsOf(d));
  }
  EXPECT_TRUE(std::signbit(RoundTrip(UpsertOf({Value::Real(-0.0)})).row[0].real));
}

TEST(RecordCodecTest, TextKeepsNulBytesAndInvalidUtf8) {
  const std::string nasty("a\0b\xc3\x28\xff\xfe\xed\xa0\x80", 10);
  const Record out = RoundTrip(UpsertOf({Value::Text(nasty), Value::Text("")}));
  ASSERT_EQ(out.row[0].type, ValueType::kText);
  EXPECT_EQ(out.row[0].bytes, nasty);
  EXPECT_EQ(out.row[1].type, ValueType::kText);
  EXPECT_EQ(out.row[1].bytes, "");
}

TEST(RecordCodecTest, EmptyBlobStaysABlobAndDiffersFromEmptyText) {
  const Record out = RoundTrip(UpsertOf({Value::Blob(""), Value::Text(""), Value::Null()}));
  EXPECT_EQ(out.row[0].type, ValueType::kBlob);
  EXPECT_EQ(out.row[1].type, ValueType::kText);
  EXPECT_EQ(out.row[2].type, ValueType::kNull);
  EXPECT_NE(out.row[0], out.row[1]);
}

TEST(RecordCodecTest, EveryFieldOfEveryRecordTypeRoundTrips) {
  for (RecordType t : {RecordType::kUpsert, RecordType::kDelete, RecordType::kSchema,
                       RecordType::kSnapshotBegin, RecordType::kSnapshotEnd}) {
    Record in = Everything();
    in.type = t;
    EXPECT_EQ(RoundTrip(in), in);
  }
  EXPECT_EQ(RoundTrip(Record{}), Record{});
}

TEST(RecordCodecTest, SixtyFourMebibyteRowRoundTrips) {
  std::string big(64u << 20, '\0');
  std::mt19937_64 rng(7);
  for (size_t i = 0; i < big.size(); i += 8) {
    const uint64_t v = rng();
    std::memcpy(big.data() + i, &v, 8);
  }
  const Record in = UpsertOf({Value::Text("id-1"), Value::Blob(big), Value::Text(big)});
  std::string framed;
  AppendFramedRecord(in, &framed);
  std::string_view payload = framed;
  std::string_view body;
  ASSERT_TRUE(NextFramedRecord(&payload, &body).ok());
  EXPECT_TRUE(payload.empty());
  Record out;
  ASSERT_TRUE(DecodeRecord(body, &out).ok());
  EXPECT_EQ(out, in);
}

TEST(RecordCodecTest, EveryTruncationIsCorruption) {
  std::string bytes;
  EncodeRecord(Everything(), &bytes);
  for (size_t n = 0; n < bytes.size(); ++n) {
    Record out;
    Status s = DecodeRecord(std::string_view(bytes).substr(0, n), &out);
    EXPECT_TRUE(s.IsCorruption()) << "prefix of " << n << " bytes: " << s.ToString();
  }
}

TEST(RecordCodecTest, TrailingBytesAreCorruption) {
  std::string bytes;
  EncodeRecord(Everything(), &bytes);
  bytes.push_back('\0');
  Record out;
  Status s = DecodeRecord(bytes, &out);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("trailing"), std::string::npos) << s.message();
}

TEST(RecordCodecTest, UnknownTagsAreCorruptionSayingWhat) {
  Record out;
  std::string bad_type = "\x09";
  Status s = DecodeRecord(bad_type, &out);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("record type 9"), std::string::npos) << s.message();

  std::string bytes;
  EncodeRecord(UpsertOf({Value::Null()}), &bytes);
  // type, seq, table "chat" (5 bytes), key count 1, key tag (NULL) -> make it tag 7.
  const size_t key_tag = 1 + 1 + 5 + 1;
  ASSERT_EQ(bytes[key_tag], 0);
  bytes[key_tag] = 7;
  s = DecodeRecord(bytes, &out);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("unknown value tag 7"), std::string::npos) << s.message();
}

TEST(RecordCodecTest, HugeCountsAreRejectedWithoutAllocating) {
  // type 1, seq 0, table "", key count 2^60 with one byte left.
  std::string bytes("\x01\x00\x00", 3);
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>(0x80));
  bytes.push_back(0x10);
  bytes.push_back(0);
  Record out;
  Status s = DecodeRecord(bytes, &out);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("exceeds the bytes left"), std::string::npos) << s.message();
}

TEST(RecordCodecTest, RandomBytesNeverCrashAndMutationsAreMostlyCaught) {
  std::mt19937_64 rng(20240601);
  std::string good;
  EncodeRecord(Everything(), &good);
  int decoded_ok = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string bytes;
    if (iter % 2 == 0) {
      bytes.resize(rng() % 64);
      for (char& c : bytes) c = static_cast<char>(rng());
    } else {
      bytes = good;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f)
        bytes[rng() % bytes.size()] ^= static_cast<char>(1 + rng() % 255);
      if (rng() % 3 == 0) bytes.resize(rng() % bytes.size());
    }
    Record out;
    Status s = DecodeRecord(bytes, &out);
    if (s.ok()) {
      ++decoded_ok;
      // Whatever decodes is a record that survives its own round trip.
      EXPECT_EQ(RoundTrip(out), out);
    } else {
      EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    }
  }
  EXPECT_LT(decoded_ok, 20000);
}

TEST(RecordCodecTest, FramedRecordWithLengthPastTheEndIsCorruption) {
  std::string framed;
  AppendFramedRecord(Everything(), &framed);
  std::string_view payload = std::string_view(framed).substr(0, framed.size() - 1);
  std::string_view body;
  EXPECT_TRUE(NextFramedRecord(&payload, &body).IsCorruption());
}

}  // namespace
}  // namespace owsync::outbox
