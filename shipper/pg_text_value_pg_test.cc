// The contract of in-stream verification against a real PostgreSQL: a SQLite value, written by
// the copy encoder into a column of its target type and read back as PostgreSQL prints it
// (PgTextValue::Parse), has the same RowDigest form as the SQLite value itself. Edge values of
// every type, and random JSON documents in every spelling jsonb keeps the meaning of.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "canonical/row_digest.h"
#include "shipper/copy_encoder.h"
#include "shipper/pg_text_value.h"
#include "tests/pg_test_env.h"

namespace owsync::shipper {
namespace {

using canonical::RowDigest;
using outbox::Value;

class PgTextValueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = tests::PgTestEnv::Get();
    auto conn = env_->ConnectAdmin(env_->admin_url());
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_.emplace(std::move(*conn));
  }
  Deadline In() { return Deadline::After(env_->clock(), 30'000'000); }
  // Round-trips `values` through a column of `type`; expects each to keep its form.
  void ExpectSameForms(PgType type, const std::vector<Value>& values) {
    const std::string sql(PgTypeSql(type));
    ASSERT_TRUE(
        conn_
            ->Exec("DROP TABLE IF EXISTS pg_temp.v; CREATE TEMP TABLE v (i int, x " + sql + ")",
                   In())
            .ok());
    ASSERT_TRUE(conn_->StartCopyIn("COPY pg_temp.v (i, x) FROM STDIN", In()).ok());
    std::string data;
    std::vector<size_t> kept;
    for (size_t i = 0; i < values.size(); ++i) {
      std::string field;
      if (!CopyEncoder::AppendField(values[i], type, &field).ok()) continue;  // a dead letter
      data += std::to_string(i) + "\t" + field + "\n";
      kept.push_back(i);
    }
    ASSERT_TRUE(conn_->PutCopyData(data, In()).ok());
    auto done = conn_->EndCopyIn(In());
    ASSERT_TRUE(done.ok()) << done.status().ToString();
    auto res = conn_->Exec(
        "SET extra_float_digits = 3; SET bytea_output = 'hex'; SELECT i, x FROM pg_temp.v "
        "ORDER BY i",
        In());
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    ASSERT_EQ(static_cast<size_t>(res->rows()), kept.size());
    for (int r = 0; r < res->rows(); ++r) {
      const Value& sqlite = values[kept[static_cast<size_t>(r)]];
      const std::optional<std::string_view> text =
          res->IsNull(r, 1) ? std::nullopt : std::optional<std::string_view>(res->GetValue(r, 1));
      auto back = PgTextValue::Parse(type, text);
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      std::string a, b;
      RowDigest::AppendValue(type, sqlite, &a);
      RowDigest::AppendValue(type, *back, &b);
      EXPECT_EQ(a, b) << sql << " value #" << kept[static_cast<size_t>(r)] << " came back as "
                      << (text ? std::string(*text) : "NULL");
      if (!sqlite.is_null() && type != PgType::kJsonb) {
        auto param = PgTextValue::Param(sqlite, type);
        ASSERT_TRUE(param.has_value());
        auto same =
            conn_->ExecParams("SELECT count(*) FROM pg_temp.v WHERE x = $1::" + sql +
                                  " AND i = " + std::to_string(kept[static_cast<size_t>(r)]),
                              {*param}, In());
        ASSERT_TRUE(same.ok()) << same.status().ToString();
        EXPECT_EQ(same->GetValue(0, 0), "1") << sql << " parameter " << *param;
      }
    }
  }

  tests::PgTestEnv* env_ = nullptr;
  std::optional<PgConnection> conn_;
};

TEST_F(PgTextValueTest, EdgeValuesOfEveryTypeKeepTheirForm) {
  const double inf = std::numeric_limits<double>::infinity();
  const int64_t max = std::numeric_limits<int64_t>::max();
  const int64_t min = std::numeric_limits<int64_t>::min();
  ExpectSameForms(PgType::kBigint,
                  {Value::Integer(0), Value::Integer(max), Value::Integer(min), Value::Null()});
  ExpectSameForms(PgType::kBoolean, {Value::Integer(0), Value::Integer(1)});
  ExpectSameForms(PgType::kDouble,
                  {Value::Real(0.1), Value::Real(-0.0), Value::Real(inf), Value::Real(-inf),
                   Value::Real(std::nan("")), Value::Real(4.9406564584124654e-324),
                   Value::Real(1.7976931348623157e308), Value::Integer(1 << 30)});
  ExpectSameForms(PgType::kNumeric, {Value::Integer(max), Value::Integer(min), Value::Real(0.1),
                                     Value::Real(1e20), Value::Real(-2.5), Value::Real(1e-300),
                                     Value::Real(inf), Value::Real(std::nan(""))});
  ExpectSameForms(PgType::kText, {Value::Text(""), Value::Text("日本語 🎉\t\\n"), Value::Integer(-7),
                                  Value::Real(2.5e-10)});
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  ExpectSameForms(PgType::kBytea, {Value::Blob(all), Value::Blob(""), Value::Text("abc")});
  ExpectSameForms(PgType::kJsonb,
                  {Value::Text("{\"b\": [1.50, 1e2, -0.0], \"a\": \"\\u00e9\", \"a\": 2}"),
                   Value::Text("  \"x\"  "), Value::Integer(12), Value::Real(0.25),
                   Value::Text("[{\"k\":{}},[]]")});
}

// Random JSON in random spellings: jsonb keeps the meaning, so the forms agree.
TEST_F(PgTextValueTest, RandomJsonDocumentsKeepTheirForm) {
  std::mt19937_64 rng(1234);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  std::function<std::string(int)> gen = [&](int depth) -> std::string {
    const std::string sp[] = {"", " ", "\n  "};
    switch (depth > 3 ? pick(4) : pick(7)) {
      case 0: {
        static const char* const nums[] = {
            "0", "-0", "1.50", "2e3", "-7.25E-2", "1e-7", "12345678901234567", "0.000", "3"};
        return nums[pick(9)];
      }
      case 1: {
        static const char* const strs[] = {
            "\"\"",   "\"a\\\"b\"", "\"\\u00e9t\\u00e9\"", "\"\\ud83d\\ude00\"", "\"tab\\tnl\\n\"",
            "\"\\/\""};
        return strs[pick(6)];
      }
      case 2:
        return pick(2) ? "true" : "null";
      case 3:
        return "false";
      case 4: {
        std::string a = "[" + sp[pick(3)];
        const int n = pick(4);
        for (int i = 0; i < n; ++i) a += (i ? "," + sp[pick(3)] : "") + gen(depth + 1);
        return a + sp[pick(3)] + "]";
      }
      default: {
        std::string o = "{" + sp[pick(3)];
        const int n = pick(5);
        for (int i = 0; i < n; ++i) {
          static const char* const keys[] = {"\"a\"",       "\"b\"", "\"ab\"",
                                             "\"\\u0061\"", "\"z\"", "\"é\""};
          o += (i ? "," + sp[pick(3)] : "") + std::string(keys[pick(6)]) + sp[pick(3)] + ":" +
               sp[pick(3)] + gen(depth + 1);
        }
        return o + sp[pick(3)] + "}";
      }
    }
  };
  std::vector<Value> docs;
  for (int i = 0; i < 300; ++i) docs.push_back(Value::Text(gen(0)));
  ExpectSameForms(PgType::kJsonb, docs);
  // The same documents in a text column verified as JSON (a column PostgreSQL keeps as text).
  std::vector<Value> texts = docs;
  ExpectSameForms(PgType::kText, texts);
}

}  // namespace
}  // namespace owsync::shipper
