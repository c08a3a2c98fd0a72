#include "shipper/copy_encoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

namespace owsync::shipper {
namespace {

using outbox::Value;

constexpr PgType kAllTypes[] = {PgType::kBigint,  PgType::kBoolean, PgType::kDouble,
                                PgType::kNumeric, PgType::kText,    PgType::kBytea,
                                PgType::kJsonb};

// The field for `v`, or "REFUSED: <message>" (and then checks that *out was left alone).
std::string Field(const Value& v, PgType type) {
  std::string out = "prefix|";
  Status s = CopyEncoder::AppendField(v, type, &out);
  if (!s.ok()) {
    EXPECT_EQ(out, "prefix|") << "output changed by a refused value";
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    return "REFUSED: " + s.message();
  }
  return out.substr(7);
}

std::string Json(const Value& v) {
  std::string out = "{";
  Status s = CopyEncoder::AppendJsonValue(v, &out);
  if (!s.ok()) {
    EXPECT_EQ(out, "{");
    return "REFUSED: " + s.message();
  }
  return out.substr(1);
}

bool Refused(const std::string& field) { return field.rfind("REFUSED: ", 0) == 0; }

double Bits(uint64_t b) {
  double d;
  std::memcpy(&d, &b, sizeof(d));
  return d;
}

TEST(CopyEncoderTest, NullIsBackslashNForEveryType) {
  for (PgType t : kAllTypes) EXPECT_EQ(Field(Value::Null(), t), "\\N");
}

TEST(CopyEncoderTest, BigintTakesIntegersOnly) {
  EXPECT_EQ(Field(Value::Integer(0), PgType::kBigint), "0");
  EXPECT_EQ(Field(Value::Integer(-42), PgType::kBigint), "-42");
  EXPECT_EQ(Field(Value::Integer(std::numeric_limits<int64_t>::max()), PgType::kBigint),
            "9223372036854775807");
  EXPECT_EQ(Field(Value::Integer(std::numeric_limits<int64_t>::min()), PgType::kBigint),
            "-9223372036854775808");
  EXPECT_EQ(Field(Value::Real(1.5), PgType::kBigint),
            "REFUSED: real 1.5 does not fit bigint column");
  EXPECT_EQ(Field(Value::Real(2.0), PgType::kBigint), "REFUSED: real 2 does not fit bigint column");
  EXPECT_EQ(Field(Value::Text("12"), PgType::kBigint),
            "REFUSED: text (2 bytes) does not fit bigint column");
  EXPECT_EQ(Field(Value::Blob("x"), PgType::kBigint),
            "REFUSED: blob (1 bytes) does not fit bigint column");
}

TEST(CopyEncoderTest, BooleanTakesZeroAndOne) {
  EXPECT_EQ(Field(Value::Integer(0), PgType::kBoolean), "f");
  EXPECT_EQ(Field(Value::Integer(1), PgType::kBoolean), "t");
  EXPECT_EQ(Field(Value::Integer(2), PgType::kBoolean),
            "REFUSED: integer 2 does not fit boolean column");
  EXPECT_TRUE(Refused(Field(Value::Integer(-1), PgType::kBoolean)));
  EXPECT_TRUE(Refused(Field(Value::Real(1.0), PgType::kBoolean)));
  EXPECT_TRUE(Refused(Field(Value::Text("true"), PgType::kBoolean)));
  EXPECT_TRUE(Refused(Field(Value::Blob("\x01"), PgType::kBoolean)));
}

TEST(CopyEncoderTest, DoubleSpellsSpecialValuesAndShortestDecimals) {
  EXPECT_EQ(Field(Value::Real(0.1), PgType::kDouble), "0.1");
  EXPECT_EQ(Field(Value::Real(-0.0), PgType::kDouble), "-0");
  EXPECT_EQ(Field(Value::Real(0.0), PgType::kDouble), "0");
  EXPECT_EQ(Field(Value::Real(std::nan("")), PgType::kDouble), "NaN");
  EXPECT_EQ(Field(Value::Real(-std::nan("")), PgType::kDouble), "NaN");
  EXPECT_EQ(Field(Value::Real(HUGE_VAL), PgType::kDouble), "Infinity");
  EXPECT_EQ(Field(Value::Real(-HUGE_VAL), PgType::kDouble), "-Infinity");
  EXPECT_EQ(Field(Value::Real(1e-310), PgType::kDouble), "1e-310");
  EXPECT_EQ(Field(Value::Real(5e-324), PgType::kDouble), "5e-324");
  EXPECT_EQ(Field(Value::Real(1.7976931348623157e308), PgType::kDouble), "1.7976931348623157e+308");
  EXPECT_EQ(Field(Value::Text("1.5"), PgType::kDouble),
            "REFUSED: text (3 bytes) does not fit double precision column");
  EXPECT_TRUE(Refused(Field(Value::Blob("1"), PgType::kDouble)));
}

TEST(CopyEncoderTest, DoubleTakesOnlyExactlyRepresentableIntegers) {
  const int64_t two53 = int64_t{1} << 53;
  EXPECT_EQ(Field(Value::Integer(two53), PgType::kDouble), "9007199254740992");
  EXPECT_EQ(Field(Value::Integer(-two53), PgType::kDouble), "-9007199254740992");
  EXPECT_EQ(Field(Value::Integer(two53 + 1), PgType::kDouble),
            "REFUSED: integer 9007199254740993 (not exactly representable as a double) does "
            "not fit double precision column");
  EXPECT_TRUE(Refused(Field(Value::Integer(-two53 - 1), PgType::kDouble)));
  EXPECT_EQ(Field(Value::Integer(two53 + 2), PgType::kDouble), "9007199254740994");
  EXPECT_EQ(Field(Value::Integer(int64_t{1} << 62), PgType::kDouble), "4611686018427387904");
  EXPECT_EQ(Field(Value::Integer(std::numeric_limits<int64_t>::min()), PgType::kDouble),
            "-9223372036854775808");  // -2^63 is a double
  EXPECT_TRUE(Refused(Field(Value::Integer(std::numeric_limits<int64_t>::max()), PgType::kDouble)));
  EXPECT_TRUE(
      Refused(Field(Value::Integer(std::numeric_limits<int64_t>::min() + 1), PgType::kDouble)));
}

TEST(CopyEncoderTest, DoubleTextRoundTripsEveryBitPattern) {
  std::mt19937_64 rng(20240607);
  for (int i = 0; i < 200'000; ++i) {
    const double d = Bits(rng());
    if (std::isnan(d)) continue;
    const std::string f = Field(Value::Real(d), PgType::kDouble);
    double back = 0;
    if (std::isinf(d)) {
      EXPECT_EQ(f, d > 0 ? "Infinity" : "-Infinity");
      continue;
    }
    const auto r = std::from_chars(f.data(), f.data() + f.size(), back);
    ASSERT_EQ(r.ec, std::errc()) << f;
    ASSERT_EQ(r.ptr, f.data() + f.size()) << f;
    ASSERT_EQ(std::memcmp(&back, &d, sizeof(d)), 0) << f;
  }
}

TEST(CopyEncoderTest, NumericTakesIntegersAndReals) {
  EXPECT_EQ(Field(Value::Integer(std::numeric_limits<int64_t>::min()), PgType::kNumeric),
            "-9223372036854775808");
  EXPECT_EQ(Field(Value::Integer((int64_t{1} << 53) + 1), PgType::kNumeric), "9007199254740993");
  EXPECT_EQ(Field(Value::Real(12.25), PgType::kNumeric), "12.25");
  EXPECT_EQ(Field(Value::Real(std::nan("")), PgType::kNumeric), "NaN");
  EXPECT_EQ(Field(Value::Real(-HUGE_VAL), PgType::kNumeric), "-Infinity");
  EXPECT_EQ(Field(Value::Text("10.5"), PgType::kNumeric),
            "REFUSED: text (4 bytes) does not fit numeric column");
  EXPECT_TRUE(Refused(Field(Value::Blob("1"), PgType::kNumeric)));
}

TEST(CopyEncoderTest, TextIsEscapedForCopy) {
  EXPECT_EQ(Field(Value::Text("plain"), PgType::kText), "plain");
  EXPECT_EQ(Field(Value::Text(""), PgType::kText), "");
  EXPECT_EQ(Field(Value::Text("a\tb\nc\\d\re"), PgType::kText), "a\\tb\\nc\\\\d\\re");
  EXPECT_EQ(Field(Value::Text("\\N"), PgType::kText), "\\\\N");  // not NULL
  EXPECT_EQ(Field(Value::Text("\x01\x7f\x1b"), PgType::kText), "\x01\x7f\x1b");
  const std::string unicode = "h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF";
  EXPECT_EQ(Field(Value::Text(unicode), PgType::kText), unicode);
  EXPECT_EQ(Field(Value::Integer(-7), PgType::kText), "-7");
  EXPECT_EQ(Field(Value::Real(0.1), PgType::kText), "0.1");
  EXPECT_EQ(Field(Value::Real(HUGE_VAL), PgType::kText), "Infinity");
  EXPECT_EQ(Field(Value::Blob("abc"), PgType::kText),
            "REFUSED: blob (3 bytes) does not fit text column");
}

TEST(CopyEncoderTest, TextWithNulOrInvalidUtf8IsRefusedNamingTheOffset) {
  EXPECT_EQ(Field(Value::Text(std::string("abc\0def", 7)), PgType::kText),
            "REFUSED: text (7 bytes) with a NUL byte at byte offset 3 does not fit text column");
  const std::pair<std::string, size_t> bad[] = {
      {"ab\xC3", 2},               // truncated 2-byte sequence
      {"\xC0\x80", 0},             // overlong NUL
      {"ok \xE0\x80\xAF", 3},      // overlong 3-byte
      {"x\xED\xA0\x80y", 1},       // encoded surrogate
      {"xyz\xF4\x90\x80\x80", 3},  // above U+10FFFF
      {"\xF5\x80\x80\x80", 0},     // invalid lead byte
      {"\xE2\x82\xAC\x80", 3},     // stray continuation byte
      {"\xF0\x9F\x98x", 0},        // bad continuation
  };
  for (const auto& [text, offset] : bad) {
    EXPECT_EQ(Field(Value::Text(text), PgType::kText),
              "REFUSED: text (" + std::to_string(text.size()) +
                  " bytes) with invalid UTF-8 at byte offset " + std::to_string(offset) +
                  " does not fit text column");
  }
}

TEST(CopyEncoderTest, ByteaIsHexOfBlobsAndTexts) {
  std::string all;
  std::string hex = "\\\\x";
  for (int b = 0; b < 256; ++b) {
    all.push_back(static_cast<char>(b));
    const char digits[] = "0123456789abcdef";
    hex.push_back(digits[b >> 4]);
    hex.push_back(digits[b & 15]);
  }
  EXPECT_EQ(Field(Value::Blob(all), PgType::kBytea), hex);
  EXPECT_EQ(Field(Value::Text(all), PgType::kBytea), hex);  // even invalid UTF-8 text
  EXPECT_EQ(Field(Value::Blob(""), PgType::kBytea), "\\\\x");
  std::string big_hex = "\\\\x";
  for (int i = 0; i < 10'000; ++i) big_hex += "ab";
  EXPECT_EQ(Field(Value::Blob(std::string(10'000, '\xAB')), PgType::kBytea), big_hex);
  EXPECT_EQ(Field(Value::Integer(1), PgType::kBytea),
            "REFUSED: integer 1 does not fit bytea column");
  EXPECT_TRUE(Refused(Field(Value::Real(1), PgType::kBytea)));
}

TEST(CopyEncoderTest, JsonbTakesValidJsonEscapedForCopy) {
  EXPECT_EQ(Field(Value::Text(R"({"a": [1, 2.5, "x\ny", null, true]})"), PgType::kJsonb),
            R"({"a": [1, 2.5, "x\\ny", null, true]})");
  EXPECT_EQ(Field(Value::Text("{\n\t\"k\": 1\r\n}"), PgType::kJsonb), "{\\n\\t\"k\": 1\\r\\n}");
  EXPECT_EQ(Field(Value::Text("\"\xF0\x9F\x98\x80\""), PgType::kJsonb), "\"\xF0\x9F\x98\x80\"");
  EXPECT_EQ(Field(Value::Text(R"("\ud83d\ude00 \uD83D\uDE00 \u00e9")"), PgType::kJsonb),
            R"("\\ud83d\\ude00 \\uD83D\\uDE00 \\u00e9")");
  // An escaped backslash followed by "u0000" is text, not a NUL escape.
  EXPECT_EQ(Field(Value::Text(R"({"s": "\\u0000"})"), PgType::kJsonb), R"({"s": "\\\\u0000"})");
  EXPECT_EQ(Field(Value::Text(R"(["\\\\u0000\\"])"), PgType::kJsonb), R"(["\\\\\\\\u0000\\\\"])");
  EXPECT_EQ(Field(Value::Text("123"), PgType::kJsonb), "123");
  EXPECT_EQ(Field(Value::Integer(-5), PgType::kJsonb), "-5");
  EXPECT_EQ(Field(Value::Real(0.5), PgType::kJsonb), "0.5");
  EXPECT_EQ(Field(Value::Real(1e300), PgType::kJsonb), "1e+300");
}

TEST(CopyEncoderTest, JsonbRefusesWhatPostgresRefuses) {
  EXPECT_EQ(Field(Value::Text(R"({"s": "a\u0000b"})"), PgType::kJsonb),
            "REFUSED: text (17 bytes) with a \\u0000 escape at byte offset 8 does not fit jsonb "
            "column");
  EXPECT_EQ(Field(Value::Text(R"(["\\\u0000"])"), PgType::kJsonb),
            "REFUSED: text (12 bytes) with a \\u0000 escape at byte offset 4 does not fit jsonb "
            "column");
  EXPECT_EQ(Field(Value::Text(R"("\ud800")"), PgType::kJsonb),
            "REFUSED: text (8 bytes) with a lone surrogate escape \\ud800 at byte offset 1 does "
            "not fit jsonb column");
  EXPECT_TRUE(Refused(Field(Value::Text(R"("\uDC00")"), PgType::kJsonb)));
  EXPECT_TRUE(Refused(Field(Value::Text(R"("\ud800\u0041")"), PgType::kJsonb)));
  EXPECT_TRUE(Refused(Field(Value::Text(R"("\ude00\ud83d")"), PgType::kJsonb)));
  EXPECT_TRUE(Refused(Field(Value::Text(R"("\ud83d")"), PgType::kJsonb)));
  EXPECT_EQ(Field(Value::Text("{\"a\":}"), PgType::kJsonb)
                .rfind("REFUSED: text (6 bytes) that is not valid JSON (", 0),
            0u);
  EXPECT_TRUE(Refused(Field(Value::Text(""), PgType::kJsonb)));
  EXPECT_TRUE(Refused(Field(Value::Text("[1,]"), PgType::kJsonb)));
  EXPECT_TRUE(Refused(Field(Value::Text("{'a': 1}"), PgType::kJsonb)));
  EXPECT_TRUE(Refused(Field(Value::Text("\"tab\tinside\""), PgType::kJsonb)));
  EXPECT_EQ(Field(Value::Text(std::string("[1,\0]", 5)), PgType::kJsonb),
            "REFUSED: text (5 bytes) with a NUL byte at byte offset 3 does not fit jsonb column");
  EXPECT_EQ(Field(Value::Text("[\"\xC3\"]"), PgType::kJsonb),
            "REFUSED: text (5 bytes) with invalid UTF-8 at byte offset 2 does not fit jsonb "
            "column");
  EXPECT_EQ(Field(Value::Real(std::nan("")), PgType::kJsonb),
            "REFUSED: real NaN does not fit jsonb column");
  EXPECT_TRUE(Refused(Field(Value::Real(-HUGE_VAL), PgType::kJsonb)));
  EXPECT_TRUE(Refused(Field(Value::Blob("{}"), PgType::kJsonb)));
}

TEST(CopyEncoderTest, LargeJsonDocumentsAreCheckedToo) {
  std::string doc = "[";
  while (doc.size() < (size_t{3} << 20)) doc += R"({"role":"user","content":"hi\nthere"},)";
  std::string good = doc + "1]";
  const std::string field = Field(Value::Text(good), PgType::kJsonb);
  ASSERT_FALSE(Refused(field));
  EXPECT_EQ(field.size(),
            good.size() + static_cast<size_t>(std::count(good.begin(), good.end(), '\\')));
  EXPECT_TRUE(Refused(Field(Value::Text(doc + "1"), PgType::kJsonb)));
  std::string with_nul_escape = doc + R"("\u0000"])";
  EXPECT_TRUE(Refused(Field(Value::Text(with_nul_escape), PgType::kJsonb)));
  // A small document after a large one still uses a working parser.
  EXPECT_EQ(Field(Value::Text("[true]"), PgType::kJsonb), "[true]");
}

TEST(CopyEncoderTest, AppendEscapedHandlesEveryByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string out = "x";
  CopyEncoder::AppendEscaped(all, &out);
  std::string expected = "x";
  for (int b = 0; b < 256; ++b) {
    if (b == '\\') {
      expected += "\\\\";
    } else if (b == '\n') {
      expected += "\\n";
    } else if (b == '\r') {
      expected += "\\r";
    } else if (b == '\t') {
      expected += "\\t";
    } else {
      expected.push_back(static_cast<char>(b));
    }
  }
  EXPECT_EQ(out, expected);
}

TEST(CopyEncoderTest, AppendEscapedMatchesAByteByByteReference) {
  std::mt19937_64 rng(99);
  const char specials[] = {'\\', '\n', '\r', '\t', '\x0b', '\x0c', '\x00', '\x0e', '\x5b'};
  for (int round = 0; round < 300; ++round) {
    const size_t len = round < 100 ? static_cast<size_t>(round) : rng() % 40'000;
    const int density = 1 + static_cast<int>(rng() % 64);  // one special per `density` bytes
    std::string in(len, '\0');
    for (char& c : in) {
      c = rng() % density == 0 ? specials[rng() % sizeof(specials)] : static_cast<char>(rng());
    }
    std::string expected = "<";
    for (char c : in) {
      switch (c) {
        case '\\':
          expected += "\\\\";
          break;
        case '\n':
          expected += "\\n";
          break;
        case '\r':
          expected += "\\r";
          break;
        case '\t':
          expected += "\\t";
          break;
        default:
          expected.push_back(c);
      }
    }
    std::string out = "<";
    CopyEncoder::AppendEscaped(in, &out);
    ASSERT_EQ(out, expected) << "round " << round << " length " << len;
  }
}

TEST(CopyEncoderTest, AppendJsonStringRoundTripsThroughAJsonParser) {
  std::string text;
  for (int b = 1; b < 0x80; ++b) text.push_back(static_cast<char>(b));
  text += "\xC3\xA9\xF0\x9F\x98\x80\"\\";
  std::string out;
  CopyEncoder::AppendJsonString(text, &out);
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), text);
  EXPECT_NE(out.find("\\u0001"), std::string::npos);
  EXPECT_NE(out.find("\\b"), std::string::npos);
  EXPECT_NE(out.find("\\f"), std::string::npos);
  EXPECT_NE(out.find("\\\""), std::string::npos);
  out.clear();
  CopyEncoder::AppendJsonString("", &out);
  EXPECT_EQ(out, "\"\"");
}

TEST(CopyEncoderTest, JsonValuesForTheExtraObject) {
  EXPECT_EQ(Json(Value::Null()), "null");
  EXPECT_EQ(Json(Value::Integer(std::numeric_limits<int64_t>::min())), "-9223372036854775808");
  EXPECT_EQ(Json(Value::Real(0.1)), "0.1");
  EXPECT_EQ(Json(Value::Real(-0.0)), "-0");
  EXPECT_EQ(Json(Value::Real(std::nan(""))), "\"NaN\"");
  EXPECT_EQ(Json(Value::Real(HUGE_VAL)), "\"Infinity\"");
  EXPECT_EQ(Json(Value::Real(-HUGE_VAL)), "\"-Infinity\"");
  EXPECT_EQ(Json(Value::Text("say \"hi\"\n")), R"("say \"hi\"\n")");
  EXPECT_EQ(Json(Value::Blob("\x01\xff")), R"("\\x01ff")");
  EXPECT_EQ(nlohmann::json::parse(Json(Value::Blob("\x01\xff"))).get<std::string>(), "\\x01ff");
  EXPECT_EQ(Json(Value::Text(std::string("a\0", 2))),
            "REFUSED: text (2 bytes) with a NUL byte at byte offset 1 does not fit a JSON string");
  EXPECT_TRUE(Refused(Json(Value::Text("\xFF"))));
  // Every value that is accepted parses as JSON.
  for (const Value& v : {Value::Integer(3), Value::Real(1e-310), Value::Real(1e300),
                         Value::Text("\xE2\x82\xAC\t"), Value::Blob(""), Value::Null()}) {
    EXPECT_TRUE(nlohmann::json::accept(Json(v))) << Json(v);
  }
}

}  // namespace
}  // namespace owsync::shipper
