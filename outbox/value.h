// Value: one SQLite value, exactly: NULL, a 64-bit integer, a double (any bit pattern: NaN,
// +-inf, -0.0), text (arbitrary bytes: NUL bytes and invalid UTF-8 are kept as they are) or a
// blob. Text and blob differ only in their type tag.
#ifndef OWSYNC_OUTBOX_VALUE_H_
#define OWSYNC_OUTBOX_VALUE_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace owsync::outbox {

enum class ValueType : uint8_t { kNull = 0, kInteger = 1, kReal = 2, kText = 3, kBlob = 4 };

struct Value {
  ValueType type = ValueType::kNull;
  int64_t integer = 0;
  double real = 0;
  std::string bytes;  // text or blob

  static Value Null() { return {}; }
  static Value Integer(int64_t v) { return {ValueType::kInteger, v, 0, {}}; }
  static Value Real(double v) { return {ValueType::kReal, 0, v, {}}; }
  static Value Text(std::string_view v) { return {ValueType::kText, 0, 0, std::string(v)}; }
  static Value Blob(std::string_view v) { return {ValueType::kBlob, 0, 0, std::string(v)}; }

  bool is_null() const { return type == ValueType::kNull; }
  // Exact equality: reals compare by bit pattern (NaN == NaN, -0.0 != 0.0).
  friend bool operator==(const Value& a, const Value& b) {
    if (a.type != b.type) return false;
    switch (a.type) {
      case ValueType::kNull:
        return true;
      case ValueType::kInteger:
        return a.integer == b.integer;
      case ValueType::kReal:
        return std::memcmp(&a.real, &b.real, sizeof(double)) == 0;
      case ValueType::kText:
      case ValueType::kBlob:
        return a.bytes == b.bytes;
    }
    return false;
  }
};

}  // namespace owsync::outbox

#endif  // OWSYNC_OUTBOX_VALUE_H_
