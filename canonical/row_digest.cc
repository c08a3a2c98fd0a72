#include "canonical/row_digest.h"

#include <xxhash.h>

#include <cmath>
#include <cstring>

#include "canonical/canonical_json.h"
#include "canonical/double_text.h"

namespace owsync::canonical {
namespace {

using outbox::Value;
using outbox::ValueType;

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void AppendTagged(char tag, std::string_view bytes, std::string* out) {
  out->push_back(tag);
  AppendVarint(bytes.size(), out);
  out->append(bytes);
}

void AppendInt(int64_t v, std::string* out) {
  out->push_back('I');
  char buf[8];
  const auto u = static_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((u >> (8 * i)) & 0xFF);
  out->append(buf, 8);
}

void AppendReal(double d, std::string* out) {
  out->push_back('D');
  uint64_t bits;
  if (std::isnan(d)) {
    bits = 0x7FF8000000000000ull;
  } else {
    std::memcpy(&bits, &d, 8);
  }
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((bits >> (8 * i)) & 0xFF);
  out->append(buf, 8);
}

bool IntegerFitsDouble(int64_t v) {
  const double d = static_cast<double>(v);
  if (d >= 9223372036854775808.0 || d < -9223372036854775808.0) return false;
  return static_cast<int64_t>(d) == v;
}

void AppendUnfit(const Value& v, std::string* out) {
  out->push_back('?');
  out->push_back(static_cast<char>(v.type));
  std::string bytes;
  switch (v.type) {
    case ValueType::kInteger:
      bytes = std::to_string(v.integer);
      break;
    case ValueType::kReal:
      AppendDoubleText(v.real, &bytes);
      break;
    default:
      bytes = v.bytes;
  }
  AppendVarint(bytes.size(), out);
  out->append(bytes);
}

std::string NumberText(const Value& v) {
  std::string text;
  if (v.type == ValueType::kInteger) {
    text = std::to_string(v.integer);
  } else {
    AppendDoubleText(v.real, &text);
  }
  return text;
}

}  // namespace

void RowDigest::AppendValue(TargetType family, const Value& v, std::string* out) {
  if (v.type == ValueType::kNull) {
    out->push_back('N');
    return;
  }
  switch (family) {
    case TargetType::kBigint:
      if (v.type == ValueType::kInteger) return AppendInt(v.integer, out);
      break;
    case TargetType::kBoolean:
      if (v.type == ValueType::kInteger && (v.integer == 0 || v.integer == 1)) {
        out->push_back('B');
        out->push_back(static_cast<char>(v.integer));
        return;
      }
      break;
    case TargetType::kDouble:
      if (v.type == ValueType::kReal) return AppendReal(v.real, out);
      if (v.type == ValueType::kInteger && IntegerFitsDouble(v.integer)) {
        return AppendReal(static_cast<double>(v.integer), out);
      }
      break;
    case TargetType::kNumeric:
      if (v.type == ValueType::kInteger) return AppendInt(v.integer, out);
      if (v.type == ValueType::kReal) {
        const double d = v.real;
        if (std::isfinite(d) && d == std::trunc(d) && d >= -9223372036854775808.0 &&
            d < 9223372036854775808.0) {
          return AppendInt(static_cast<int64_t>(d), out);
        }
        return AppendReal(d, out);
      }
      break;
    case TargetType::kText:
      if (v.type == ValueType::kText) return AppendTagged('T', v.bytes, out);
      if (v.type == ValueType::kInteger || v.type == ValueType::kReal) {
        return AppendTagged('T', NumberText(v), out);
      }
      break;
    case TargetType::kBytea:
      if (v.type == ValueType::kText || v.type == ValueType::kBlob) {
        return AppendTagged('X', v.bytes, out);
      }
      break;
    case TargetType::kJsonb: {
      std::string canonical;
      Status s = Status::InvalidArgument("not JSON");
      if (v.type == ValueType::kText) {
        s = AppendCanonicalJson(v.bytes, &canonical);
      } else if (v.type == ValueType::kInteger ||
                 (v.type == ValueType::kReal && std::isfinite(v.real))) {
        s = AppendCanonicalJson(NumberText(v), &canonical);
      }
      if (s.ok()) return AppendTagged('J', canonical, out);
      break;
    }
  }
  AppendUnfit(v, out);
}

uint64_t RowDigest::Of(const std::vector<TargetType>& families, const std::vector<Value>& row) {
  std::string forms;
  for (size_t i = 0; i < row.size() && i < families.size(); ++i) {
    AppendValue(families[i], row[i], &forms);
  }
  return XXH3_64bits(forms.data(), forms.size());
}

std::vector<TargetType> RowDigest::FamiliesOf(const std::vector<std::string>& declared_types) {
  std::vector<TargetType> out;
  out.reserve(declared_types.size());
  for (const auto& d : declared_types) out.push_back(TargetTypeForDeclared(d));
  return out;
}

}  // namespace owsync::canonical
