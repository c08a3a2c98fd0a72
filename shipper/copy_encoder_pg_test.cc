// CopyEncoder against a real PostgreSQL: every accepted value is COPYed into a column of its
// type and read back (text output) to show PostgreSQL stores exactly that value; refused values
// are ones PostgreSQL itself would refuse or change.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "shipper/copy_encoder.h"
#include "shipper/pg_connection.h"
#include "shipper/pg_error.h"
#include "tests/pg_test_env.h"

namespace owsync::shipper {
namespace {

using outbox::Value;
using tests::PgTestEnv;

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

double Bits(uint64_t b) {
  double d;
  std::memcpy(&d, &b, sizeof(d));
  return d;
}

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }

// The double PostgreSQL printed (float8 or numeric output), read back.
double ParseDouble(std::string_view text) {
  if (text == "NaN") return std::nan("");
  if (text == "Infinity") return HUGE_VAL;
  if (text == "-Infinity") return -HUGE_VAL;
  double d = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), d);
  EXPECT_TRUE(r.ec == std::errc() && r.ptr == text.data() + text.size()) << text;
  return d;
}

class CopyEncoderPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = PgTestEnv::Get();
    ASSERT_NE(env_, nullptr);
    clock_ = env_->clock();
    auto db = env_->CreateDatabase("copy_encoder");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    auto conn = PgConnection::Connect(clock_, db->admin_url, In(10'000'000));
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_.emplace(std::move(conn).value());
    ASSERT_TRUE(
        conn_->Exec("SET extra_float_digits = 3; SET bytea_output = 'hex'", In(5'000'000)).ok());
  }
  Deadline In(int64_t micros) { return Deadline::After(clock_, micros); }

  // COPYs `values` (all of which must be accepted) into a new table with a column of `type`
  // and returns what PostgreSQL stores, as text (nullopt for NULL), in the same order.
  std::vector<std::optional<std::string>> RoundTrip(PgType type, const std::vector<Value>& values) {
    const std::string table = "t" + std::to_string(++tables_);
    EXPECT_TRUE(conn_
                    ->Exec("CREATE TABLE " + table + " (id int PRIMARY KEY, v " +
                               std::string(PgTypeSql(type)) + ")",
                           In(5'000'000))
                    .ok());
    std::string data;
    for (size_t i = 0; i < values.size(); ++i) {
      data += std::to_string(i) + "\t";
      Status s = CopyEncoder::AppendField(values[i], type, &data);
      EXPECT_TRUE(s.ok()) << "value " << i << ": " << s.ToString();
      data += "\n";
    }
    std::vector<std::optional<std::string>> stored;
    Status started = conn_->StartCopyIn("COPY " + table + " (id, v) FROM STDIN", In(5'000'000));
    EXPECT_TRUE(started.ok()) << started.ToString();
    if (!started.ok()) return stored;
    EXPECT_TRUE(conn_->PutCopyData(data, In(30'000'000)).ok());
    auto done = conn_->EndCopyIn(In(30'000'000));
    EXPECT_TRUE(done.ok()) << PgTypeSql(type) << ": " << done.status().ToString();
    if (!done.ok()) return stored;
    EXPECT_EQ(done->affected_rows(), static_cast<long long>(values.size()));
    auto res = conn_->Exec("SELECT v::text FROM " + table + " ORDER BY id", In(30'000'000));
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    if (!res.ok()) return stored;
    for (int r = 0; r < res->rows(); ++r) stored.push_back(res->GetOptional(r, 0));
    return stored;
  }

  // The encoder refuses `value` for `type`, naming `reason`.
  void ExpectRefused(const Value& value, PgType type, std::string_view reason) {
    std::string out = "keep";
    Status s = CopyEncoder::AppendField(value, type, &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << PgTypeSql(type) << ": " << s.ToString();
    EXPECT_NE(s.message().find(reason), std::string::npos) << s.ToString();
    EXPECT_EQ(out, "keep");
  }

  // SQLSTATE of PostgreSQL's own verdict on `literal`::type (bound as a text parameter).
  std::string ServerVerdict(const std::string& literal, std::string_view type) {
    auto res = conn_->ExecParams("SELECT $1::" + std::string(type), {literal}, In(5'000'000));
    return res.ok() ? "accepted" : SqlStateOf(res.status());
  }

  PgTestEnv* env_ = nullptr;
  Clock* clock_ = nullptr;
  std::optional<PgConnection> conn_;
  int tables_ = 0;
};

TEST_F(CopyEncoderPgTest, BigintAndBooleanRoundTrip) {
  auto big = RoundTrip(PgType::kBigint, {Value::Integer(kInt64Min), Value::Integer(kInt64Max),
                                         Value::Integer(0), Value::Integer(-1), Value::Null()});
  ASSERT_EQ(big.size(), 5u);
  EXPECT_EQ(big[0], "-9223372036854775808");
  EXPECT_EQ(big[1], "9223372036854775807");
  EXPECT_EQ(big[2], "0");
  EXPECT_EQ(big[3], "-1");
  EXPECT_EQ(big[4], std::nullopt);
  auto flags = RoundTrip(PgType::kBoolean, {Value::Integer(0), Value::Integer(1), Value::Null()});
  ASSERT_EQ(flags.size(), 3u);
  EXPECT_EQ(flags[0], "false");
  EXPECT_EQ(flags[1], "true");
  EXPECT_EQ(flags[2], std::nullopt);
  ExpectRefused(Value::Real(1.5), PgType::kBigint, "real 1.5 does not fit bigint column");
  ExpectRefused(Value::Integer(2), PgType::kBoolean, "integer 2");
}

TEST_F(CopyEncoderPgTest, DoublesKeepTheirBits) {
  std::vector<Value> values = {
      Value::Real(0.1),
      Value::Real(-0.0),
      Value::Real(0.0),
      Value::Real(std::nan("")),
      Value::Real(HUGE_VAL),
      Value::Real(-HUGE_VAL),
      Value::Real(1e-310),
      Value::Real(5e-324),
      Value::Real(1.7976931348623157e308),
      Value::Real(-2.5e-300),
      Value::Integer(int64_t{1} << 53),
      Value::Integer(kInt64Min),
  };
  std::mt19937_64 rng(7);
  while (values.size() < 3000) {
    const double d = Bits(rng());
    if (!std::isnan(d)) values.push_back(Value::Real(d));
  }
  auto stored = RoundTrip(PgType::kDouble, values);
  ASSERT_EQ(stored.size(), values.size());
  EXPECT_EQ(stored[1], "-0");
  EXPECT_EQ(stored[3], "NaN");
  EXPECT_EQ(stored[4], "Infinity");
  EXPECT_EQ(stored[5], "-Infinity");
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_TRUE(stored[i].has_value());
    const double expected = values[i].type == outbox::ValueType::kInteger
                                ? static_cast<double>(values[i].integer)
                                : values[i].real;
    const double back = ParseDouble(*stored[i]);
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(back));
    } else {
      EXPECT_TRUE(SameBits(back, expected)) << i << ": stored " << *stored[i];
    }
  }
  ExpectRefused(Value::Integer((int64_t{1} << 53) + 1), PgType::kDouble,
                "not exactly representable");
  ExpectRefused(Value::Integer(kInt64Max), PgType::kDouble, "not exactly representable");
  ExpectRefused(Value::Text("1.5"), PgType::kDouble, "text (3 bytes) does not fit");
}

TEST_F(CopyEncoderPgTest, NumericsAreExact) {
  auto stored =
      RoundTrip(PgType::kNumeric,
                {Value::Integer(kInt64Min), Value::Integer(kInt64Max), Value::Real(0.1),
                 Value::Real(12.25), Value::Real(std::nan("")), Value::Real(HUGE_VAL),
                 Value::Real(-HUGE_VAL), Value::Real(1e-310), Value::Real(-0.0),
                 Value::Real(1.7976931348623157e308), Value::Integer((int64_t{1} << 53) + 1)});
  ASSERT_EQ(stored.size(), 11u);
  EXPECT_EQ(stored[0], "-9223372036854775808");
  EXPECT_EQ(stored[1], "9223372036854775807");
  EXPECT_EQ(stored[2], "0.1");
  EXPECT_EQ(stored[3], "12.25");
  EXPECT_EQ(stored[4], "NaN");
  EXPECT_EQ(stored[5], "Infinity");
  EXPECT_EQ(stored[6], "-Infinity");
  EXPECT_EQ(stored[7], "0." + std::string(309, '0') + "1");
  EXPECT_EQ(stored[8], "0");  // numeric has no negative zero
  EXPECT_TRUE(SameBits(ParseDouble(*stored[9]), 1.7976931348623157e308));
  EXPECT_EQ(stored[10], "9007199254740993");
}

TEST_F(CopyEncoderPgTest, TextIsStoredByteForByte) {
  std::string controls;
  for (int b = 1; b < 0x20; ++b) controls.push_back(static_cast<char>(b));
  controls += "\x7f";
  const std::vector<Value> values = {
      Value::Text("tab\there\nnewline\r\nback\\slash \\N \\. end"),
      Value::Text("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF0\x9D\x84\x9E\xF4\x8F\xBF\xBF"),
      Value::Text(controls),
      Value::Text(""),
      Value::Text("\\."),
      Value::Integer(kInt64Min),
      Value::Real(0.1),
      Value::Real(-HUGE_VAL),
      Value::Text(std::string(1 << 20, 'z') + "\t" + std::string(1 << 20, '\\')),
  };
  auto stored = RoundTrip(PgType::kText, values);
  ASSERT_EQ(stored.size(), values.size());
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(stored[i], values[i].bytes) << i;
  EXPECT_EQ(stored[5], "-9223372036854775808");
  EXPECT_EQ(stored[6], "0.1");
  EXPECT_EQ(stored[7], "-Infinity");
  EXPECT_TRUE(stored[8] == values[8].bytes);
}

TEST_F(CopyEncoderPgTest, RefusedTextIsWhatPostgresRefuses) {
  ExpectRefused(Value::Text(std::string("a\0b", 3)), PgType::kText, "NUL byte at byte offset 1");
  ExpectRefused(Value::Blob("abc"), PgType::kText, "blob (3 bytes) does not fit text column");
  for (const std::string bad : {"\xC3", "ok\xED\xA0\x80", "\xF4\x90\x80\x80", "\xC0\x80"}) {
    ExpectRefused(Value::Text(bad), PgType::kText, "invalid UTF-8 at byte offset");
    EXPECT_EQ(ServerVerdict(bad, "text"), "22021");  // character_not_in_repertoire
  }
}

TEST_F(CopyEncoderPgTest, ByteaKeepsAllByteValues) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string hex = "\\x";
  const char digits[] = "0123456789abcdef";
  for (int b = 0; b < 256; ++b) {
    hex.push_back(digits[b >> 4]);
    hex.push_back(digits[b & 15]);
  }
  auto stored = RoundTrip(PgType::kBytea, {Value::Blob(all), Value::Text(all), Value::Blob(""),
                                           Value::Text("\xF0\x9F\x98\x80")});
  ASSERT_EQ(stored.size(), 4u);
  EXPECT_EQ(stored[0], hex);
  EXPECT_EQ(stored[1], hex);
  EXPECT_EQ(stored[2], "\\x");
  EXPECT_EQ(stored[3], "\\xf09f9880");
  ExpectRefused(Value::Integer(1), PgType::kBytea, "integer 1 does not fit bytea column");
  ExpectRefused(Value::Real(1), PgType::kBytea, "real 1 does not fit bytea column");
}

TEST_F(CopyEncoderPgTest, JsonbStoresTheDocument) {
  const std::vector<Value> values = {
      Value::Text(R"({"a": {"b": ["\u00e9\ud83d\ude00\uD834\uDD1E", "\n\t\"\\", "\u001f"]}})"),
      Value::Text(R"({"s": "\\u0000"})"),
      Value::Text(R"(["\\\\u0000", "x\\"])"),
      Value::Text("{\n\t\"multi\":\r\n [1, 2.50, -0, 1e2]\n}"),
      Value::Text("\"\xF0\x9F\x98\x80\""),
      Value::Integer(kInt64Max),
      Value::Real(0.1),
      Value::Real(1e-310),
  };
  auto stored = RoundTrip(PgType::kJsonb, values);
  ASSERT_EQ(stored.size(), values.size());
  EXPECT_EQ(stored[0],
            "{\"a\": {\"b\": [\"\xC3\xA9\xF0\x9F\x98\x80\xF0\x9D\x84\x9E\", \"\\n\\t\\\"\\\\\", "
            "\"\\u001f\"]}}");
  EXPECT_EQ(stored[1], R"({"s": "\\u0000"})");
  EXPECT_EQ(stored[2], R"(["\\\\u0000", "x\\"])");
  EXPECT_EQ(stored[3], R"({"multi": [1, 2.50, 0, 100]})");
  EXPECT_EQ(stored[4], "\"\xF0\x9F\x98\x80\"");
  EXPECT_EQ(stored[5], "9223372036854775807");
  EXPECT_EQ(stored[6], "0.1");
  EXPECT_TRUE(SameBits(ParseDouble(*stored[7]), 1e-310)) << *stored[7];
}

TEST_F(CopyEncoderPgTest, RefusedJsonIsWhatPostgresRefuses) {
  const std::pair<std::string, std::string_view> cases[] = {
      {R"({"s": "a\u0000b"})", "\\u0000 escape at byte offset 8"},
      {R"(["\\\u0000"])", "\\u0000 escape at byte offset 4"},
      {R"("\ud800")", "lone surrogate escape \\ud800"},
      {R"("\udc00 x")", "lone surrogate escape \\udc00"},
      {R"("\ud800\u0041")", "lone surrogate escape \\ud800"},
      {R"({"a":})", "not valid JSON"},
      {"[1,]", "not valid JSON"},
  };
  for (const auto& [json, reason] : cases) {
    ExpectRefused(Value::Text(json), PgType::kJsonb, reason);
    const std::string verdict = ServerVerdict(json, "jsonb");
    EXPECT_TRUE(verdict == "22P05" || verdict == "22P02") << json << ": " << verdict;
  }
  ExpectRefused(Value::Text("[\"\xFF\"]"), PgType::kJsonb, "invalid UTF-8 at byte offset 2");
  ExpectRefused(Value::Real(std::nan("")), PgType::kJsonb, "real NaN does not fit jsonb");
  ExpectRefused(Value::Real(HUGE_VAL), PgType::kJsonb, "real Infinity does not fit jsonb");
  ExpectRefused(Value::Blob("{}"), PgType::kJsonb, "blob (2 bytes) does not fit jsonb");
}

// The _owsync_extra object built with AppendJsonValue/AppendJsonString lands in jsonb intact.
TEST_F(CopyEncoderPgTest, ExtraObjectRoundTrips) {
  const std::string text = "quote \" back \\ tab \t nl \n \xF0\x9F\x98\x80 \x01";
  std::string obj = "{";
  const std::pair<std::string, Value> members[] = {
      {"int", Value::Integer(kInt64Min)},
      {"real", Value::Real(0.1)},
      {"nan", Value::Real(std::nan(""))},
      {"inf", Value::Real(-HUGE_VAL)},
      {"text \"k\"", Value::Text(text)},
      {"blob", Value::Blob(std::string("\x00\xff", 2))},
      {"null", Value::Null()},
  };
  for (const auto& [name, value] : members) {
    if (obj.size() > 1) obj += ",";
    CopyEncoder::AppendJsonString(name, &obj);
    obj += ":";
    ASSERT_TRUE(CopyEncoder::AppendJsonValue(value, &obj).ok()) << name;
  }
  obj += "}";
  auto stored = RoundTrip(PgType::kJsonb, {Value::Text(obj)});
  ASSERT_EQ(stored.size(), 1u);
  auto res = conn_->Exec(
      "SELECT v->>'int', v->>'real', v->>'nan', v->>'inf', v->>'text \"k\"', v->>'blob', "
      "v->'null' = 'null'::jsonb, jsonb_typeof(v->'int') FROM t1",
      In(5'000'000));
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->GetValue(0, 0), "-9223372036854775808");
  EXPECT_EQ(res->GetValue(0, 1), "0.1");
  EXPECT_EQ(res->GetValue(0, 2), "NaN");
  EXPECT_EQ(res->GetValue(0, 3), "-Infinity");
  EXPECT_EQ(res->GetValue(0, 4), text);
  EXPECT_EQ(res->GetValue(0, 5), "\\x00ff");
  EXPECT_EQ(res->GetValue(0, 6), "t");
  EXPECT_EQ(res->GetValue(0, 7), "number");
}

}  // namespace
}  // namespace owsync::shipper
