#include "shipper/pg_text_value.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "shipper/copy_encoder.h"

namespace owsync::shipper {
namespace {

using outbox::Value;

Status Bad(PgType type, std::string_view text) {
  return Status::Corruption("PostgreSQL returned \"" + std::string(text.substr(0, 40)) +
                            "\" for a " + std::string(PgTypeSql(type)) + " column");
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ParseInt64(std::string_view text, int64_t* v) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *v);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool ParseDouble(std::string_view text, double* d) {
  if (text == "NaN") {
    *d = std::nan("");
    return true;
  }
  if (text == "Infinity") {
    *d = HUGE_VAL;
    return true;
  }
  if (text == "-Infinity") {
    *d = -HUGE_VAL;
    return true;
  }
  const std::string s(text);
  char* end = nullptr;
  *d = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size();
}

// numeric: a whole number within int64 stays an integer ("5", "5.000"), anything else a real.
Result<Value> ParseNumeric(std::string_view text) {
  const size_t dot = text.find('.');
  const bool exponent = text.find_first_of("eE") != std::string_view::npos;
  if (!exponent) {
    std::string_view whole = text.substr(0, dot);
    const bool zero_fraction = dot == std::string_view::npos ||
                               text.find_first_not_of('0', dot + 1) == std::string_view::npos;
    int64_t v = 0;
    if (zero_fraction && ParseInt64(whole, &v)) return Value::Integer(v);
  }
  double d = 0;
  if (!ParseDouble(text, &d)) return Bad(PgType::kNumeric, text);
  return Value::Real(d);
}

}  // namespace

Result<Value> PgTextValue::Parse(PgType type, std::optional<std::string_view> text) {
  if (!text.has_value()) return Value::Null();
  const std::string_view t = *text;
  switch (type) {
    case PgType::kBigint: {
      int64_t v = 0;
      if (!ParseInt64(t, &v)) return Bad(type, t);
      return Value::Integer(v);
    }
    case PgType::kBoolean:
      if (t == "t") return Value::Integer(1);
      if (t == "f") return Value::Integer(0);
      return Bad(type, t);
    case PgType::kDouble: {
      double d = 0;
      if (!ParseDouble(t, &d)) return Bad(type, t);
      return Value::Real(d);
    }
    case PgType::kNumeric:
      return ParseNumeric(t);
    case PgType::kText:
    case PgType::kJsonb:
      return Value::Text(t);
    case PgType::kBytea: {
      if (t.size() < 2 || t[0] != '\\' || t[1] != 'x' || t.size() % 2 != 0) return Bad(type, t);
      std::string bytes;
      bytes.reserve((t.size() - 2) / 2);
      for (size_t i = 2; i < t.size(); i += 2) {
        const int hi = HexDigit(t[i]), lo = HexDigit(t[i + 1]);
        if (hi < 0 || lo < 0) return Bad(type, t);
        bytes.push_back(static_cast<char>(hi * 16 + lo));
      }
      return Value::Blob(bytes);
    }
  }
  return Bad(type, t);
}

std::optional<std::string> PgTextValue::Param(const Value& value, PgType type) {
  if (value.is_null()) return std::nullopt;
  std::string field;
  if (!CopyEncoder::AppendField(value, type, &field).ok()) return std::nullopt;
  if (type == PgType::kBytea) {
    // The COPY field is "\\x<hex>" (its backslash escaped for COPY): the parameter is "\x<hex>".
    return field.substr(1);
  }
  if (type == PgType::kText || type == PgType::kJsonb)
    return value.type == outbox::ValueType::kText ? value.bytes : field;
  return field;
}

}  // namespace owsync::shipper
