#include "shipper/record_key.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <system_error>

#include "outbox/record_json.h"

namespace owsync::shipper {
namespace {

void AppendHexString(std::string_view bytes, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->append("\"\\\\x");
  for (unsigned char c : bytes) {
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 0xf]);
  }
  out->push_back('"');
}

}  // namespace

std::string PgFloat8Text(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  if (ec != std::errc()) return "NaN";  // cannot happen: 64 bytes hold any double
  // buf: [-]d[.ddd]e(+|-)xx -- the shortest digits that round-trip, and the decimal exponent.
  std::string_view sci(buf, static_cast<size_t>(end - buf));
  const size_t e = sci.find('e');
  const int exponent = std::atoi(std::string(sci.substr(e + 1)).c_str());
  if (exponent < -4 || exponent >= 15) return std::string(sci);
  std::string out;
  std::string_view mantissa = sci.substr(0, e);
  if (!mantissa.empty() && mantissa[0] == '-') {
    out.push_back('-');
    mantissa.remove_prefix(1);
  }
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  if (exponent < 0) {
    out.append("0.");
    out.append(static_cast<size_t>(-exponent - 1), '0');
    out.append(digits);
  } else if (digits.size() <= static_cast<size_t>(exponent) + 1) {
    out.append(digits);
    out.append(static_cast<size_t>(exponent) + 1 - digits.size(), '0');
  } else {
    out.append(digits, 0, static_cast<size_t>(exponent) + 1);
    out.push_back('.');
    out.append(digits, static_cast<size_t>(exponent) + 1);
  }
  return out;
}

void AppendPgJsonString(std::string_view utf8, std::string* out) {
  out->push_back('"');
  for (char c : utf8) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char esc[8];
          std::snprintf(esc, sizeof(esc), "\\u%04x", static_cast<unsigned>(c));
          out->append(esc);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void AppendRecordKeyValue(const outbox::Value& value, std::string* out) {
  switch (value.type) {
    case outbox::ValueType::kNull:
      out->append("null");
      return;
    case outbox::ValueType::kInteger:
      out->append(std::to_string(value.integer));
      return;
    case outbox::ValueType::kReal: {
      const std::string text = PgFloat8Text(value.real);
      if (std::isfinite(value.real)) {
        out->append(text);
      } else {
        AppendPgJsonString(text, out);
      }
      return;
    }
    case outbox::ValueType::kText:
      if (value.bytes.find('\0') == std::string::npos &&
          outbox::RecordJson::IsValidUtf8(value.bytes)) {
        AppendPgJsonString(value.bytes, out);
      } else {
        AppendHexString(value.bytes, out);
      }
      return;
    case outbox::ValueType::kBlob:
      AppendHexString(value.bytes, out);
      return;
  }
}

std::string RecordKeyJson(const std::vector<outbox::Value>& key) {
  std::string out = "[";
  for (size_t i = 0; i < key.size(); ++i) {
    if (i > 0) out.append(", ");
    AppendRecordKeyValue(key[i], &out);
  }
  out.push_back(']');
  return out;
}

}  // namespace owsync::shipper
