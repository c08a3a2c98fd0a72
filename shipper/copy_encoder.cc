#include "shipper/copy_encoder.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>

#include "canonical/double_text.h"
#include "util/utf8.h"

namespace owsync::shipper {
namespace {

using outbox::Value;
using outbox::ValueType;

constexpr char kHexDigits[] = "0123456789abcdef";

// Escape code of each byte in COPY text format (0 = copied as is).
constexpr std::array<char, 256> kCopyEscape = [] {
  std::array<char, 256> t{};
  t['\\'] = '\\';
  t['\n'] = 'n';
  t['\r'] = 'r';
  t['\t'] = 't';
  return t;
}();

// Bytes a JSON string literal must escape: control characters, '"' and '\'. The value is the
// short escape letter, or 'u' for \u00XX.
constexpr std::array<char, 256> kJsonEscape = [] {
  std::array<char, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 'u';
  t['"'] = '"';
  t['\\'] = '\\';
  t['\b'] = 'b';
  t['\f'] = 'f';
  t['\n'] = 'n';
  t['\r'] = 'r';
  t['\t'] = 't';
  return t;
}();

// JSON documents up to this size are checked with the thread's reusable parser; larger ones
// get a parser of their own (simdjson needs several bytes of memory per input byte).
constexpr size_t kReusableJsonCapacity = size_t{1} << 20;

struct JsonScratch {
  simdjson::dom::parser parser{kReusableJsonCapacity};
  std::unique_ptr<char[]> padded{new char[kReusableJsonCapacity + simdjson::SIMDJSON_PADDING]};
};

void AppendInteger(int64_t v, std::string* out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}

void AppendDouble(double d, std::string* out) { canonical::AppendDoubleText(d, out); }

bool IntegerFitsDouble(int64_t v) {
  constexpr int64_t k2p53 = int64_t{1} << 53;
  if (v >= -k2p53 && v <= k2p53) return true;
  const double d = static_cast<double>(v);
  if (d >= 9223372036854775808.0) return false;  // rounded up to 2^63: not an int64
  return static_cast<int64_t>(d) == v;
}

// Appends the hex digits of `bytes` (no prefix), through a stack buffer (no zero-filling).
void AppendHex(std::string_view bytes, std::string* out) {
  char buf[4096];
  size_t i = 0;
  while (i < bytes.size()) {
    const size_t n = std::min(bytes.size() - i, sizeof(buf) / 2);
    for (size_t k = 0; k < n; ++k) {
      const auto b = static_cast<unsigned char>(bytes[i + k]);
      buf[2 * k] = kHexDigits[b >> 4];
      buf[2 * k + 1] = kHexDigits[b & 0xF];
    }
    out->append(buf, 2 * n);
    i += n;
  }
}

// Why `text` is not valid UTF-8 free of NUL bytes ("with a NUL byte at byte offset 3"), or "".
std::string TextProblem(std::string_view text) {
  if (const void* nul = std::memchr(text.data(), 0, text.size())) {
    return "with a NUL byte at byte offset " +
           std::to_string(static_cast<const char*>(nul) - text.data());
  }
  if (!simdjson::validate_utf8(text.data(), text.size())) {
    return "with invalid UTF-8 at byte offset " + std::to_string(FirstInvalidUtf8(text));
  }
  return {};
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The code unit of the escape "\uXXXX" at json[i], or -1 if there is none.
int32_t UnicodeEscapeAt(std::string_view json, size_t i) {
  if (json.size() - i < 6 || json[i] != '\\' || json[i + 1] != 'u') return -1;
  int32_t v = 0;
  for (size_t k = 2; k < 6; ++k) {
    const int h = HexValue(json[i + k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

// Why `json` (valid UTF-8 without NUL) has an escape PostgreSQL's jsonb refuses: \u0000 or a
// surrogate escape that is not a high-low pair. In JSON a backslash only occurs inside a string
// where it starts an escape, so scanning escapes left to right sees each exactly once ("\\"
// followed by "u0000" is an escaped backslash, then plain text).
std::string JsonEscapeProblem(std::string_view json) {
  const char* p = json.data();
  const size_t n = json.size();
  size_t i = 0;
  while (i < n) {
    const void* b = std::memchr(p + i, '\\', n - i);
    if (b == nullptr) break;
    i = static_cast<size_t>(static_cast<const char*>(b) - p);
    const int32_t cp = UnicodeEscapeAt(json, i);
    if (cp < 0) {
      i += 2;  // a two-character escape (or malformed JSON, which the parser refuses)
      continue;
    }
    if (cp == 0) return "with a \\u0000 escape at byte offset " + std::to_string(i);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      const int32_t low = UnicodeEscapeAt(json, i + 6);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        i += 12;
        continue;
      }
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      return "with a lone surrogate escape " + std::string(json.substr(i, 6)) + " at byte offset " +
             std::to_string(i);
    }
    i += 6;
  }
  return {};
}

std::string JsonProblem(std::string_view json) {
  std::string problem = TextProblem(json);
  if (problem.empty()) problem = JsonEscapeProblem(json);
  if (!problem.empty()) return problem;
  simdjson::error_code error;
  if (json.size() <= kReusableJsonCapacity) {
    thread_local JsonScratch scratch;
    std::memcpy(scratch.padded.get(), json.data(), json.size());
    error = scratch.parser.parse(scratch.padded.get(), json.size(), false).error();
  } else {
    simdjson::dom::parser parser(json.size());
    error = parser.parse(json.data(), json.size(), true).error();
  }
  if (error != simdjson::SUCCESS) {
    return std::string("that is not valid JSON (") + simdjson::error_message(error) + ")";
  }
  return {};
}

std::string Describe(const Value& v) {
  switch (v.type) {
    case ValueType::kNull:
      return "NULL";
    case ValueType::kInteger:
      return "integer " + std::to_string(v.integer);
    case ValueType::kReal: {
      std::string s = "real ";
      AppendDouble(v.real, &s);
      return s;
    }
    case ValueType::kText:
      return "text (" + std::to_string(v.bytes.size()) + " bytes)";
    case ValueType::kBlob:
      return "blob (" + std::to_string(v.bytes.size()) + " bytes)";
  }
  return "value";
}

Status Refuse(const Value& v, std::string_view target, std::string_view why = {}) {
  std::string msg = Describe(v);
  if (!why.empty()) {
    msg += ' ';
    msg += why;
  }
  msg += " does not fit ";
  msg += target;
  return Status::InvalidArgument(msg);
}

Status Refuse(const Value& v, PgType type, std::string_view why = {}) {
  return Refuse(v, std::string(PgTypeSql(type)) + " column", why);
}

void AppendByteaField(std::string_view bytes, std::string* out) {
  out->reserve(out->size() + 3 + 2 * bytes.size());
  out->append("\\\\x");  // the bytea input "\x", its backslash escaped for COPY
  AppendHex(bytes, out);
}

}  // namespace

Status CopyEncoder::AppendField(const Value& value, PgType type, std::string* out) {
  switch (value.type) {
    case ValueType::kNull:
      out->append("\\N");
      return Status::OK();
    case ValueType::kInteger:
      switch (type) {
        case PgType::kBoolean:
          if (value.integer != 0 && value.integer != 1) return Refuse(value, type);
          out->push_back(value.integer == 0 ? 'f' : 't');
          return Status::OK();
        case PgType::kDouble:
          if (!IntegerFitsDouble(value.integer)) {
            return Refuse(value, type, "(not exactly representable as a double)");
          }
          AppendInteger(value.integer, out);
          return Status::OK();
        case PgType::kBytea:
          return Refuse(value, type);
        case PgType::kBigint:
        case PgType::kNumeric:
        case PgType::kText:
        case PgType::kJsonb:
          AppendInteger(value.integer, out);
          return Status::OK();
      }
      break;
    case ValueType::kReal:
      switch (type) {
        case PgType::kJsonb:
          if (!std::isfinite(value.real)) return Refuse(value, type);
          [[fallthrough]];
        case PgType::kDouble:
        case PgType::kNumeric:
        case PgType::kText:
          AppendDouble(value.real, out);
          return Status::OK();
        case PgType::kBigint:
        case PgType::kBoolean:
        case PgType::kBytea:
          return Refuse(value, type);
      }
      break;
    case ValueType::kText:
      if (type == PgType::kText || type == PgType::kJsonb) {
        const std::string problem =
            type == PgType::kText ? TextProblem(value.bytes) : JsonProblem(value.bytes);
        if (!problem.empty()) return Refuse(value, type, problem);
        AppendEscaped(value.bytes, out);
        return Status::OK();
      }
      if (type != PgType::kBytea) return Refuse(value, type);
      AppendByteaField(value.bytes, out);
      return Status::OK();
    case ValueType::kBlob:
      if (type != PgType::kBytea) return Refuse(value, type);
      AppendByteaField(value.bytes, out);
      return Status::OK();
  }
  return Status::Internal("CopyEncoder: unknown value or column type");
}

Status CopyEncoder::AppendJsonValue(const Value& value, std::string* out) {
  switch (value.type) {
    case ValueType::kNull:
      out->append("null");
      return Status::OK();
    case ValueType::kInteger:
      AppendInteger(value.integer, out);
      return Status::OK();
    case ValueType::kReal:
      if (std::isfinite(value.real)) {
        AppendDouble(value.real, out);
      } else {
        out->push_back('"');
        AppendDouble(value.real, out);
        out->push_back('"');
      }
      return Status::OK();
    case ValueType::kText: {
      const std::string problem = TextProblem(value.bytes);
      if (!problem.empty()) return Refuse(value, "a JSON string", problem);
      AppendJsonString(value.bytes, out);
      return Status::OK();
    }
    case ValueType::kBlob:
      out->reserve(out->size() + 5 + 2 * value.bytes.size());
      out->append("\"\\\\x");  // the JSON string "\\x<hex>" (bytea input syntax)
      AppendHex(value.bytes, out);
      out->push_back('"');
      return Status::OK();
  }
  return Status::Internal("CopyEncoder: unknown value type");
}

void CopyEncoder::AppendEscaped(std::string_view bytes, std::string* out) {
  // Works through blocks of input: the output grows by the worst case (every byte escaped)
  // for one block at a time and is trimmed after, so a huge field never doubles the buffer.
  // Eight bytes at a time are copied when none of them can need escaping (SWAR test for
  // '\\' and for bytes below 0x0E, which covers \t \n \r).
  constexpr size_t kBlock = 16 * 1024;
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  while (p < end) {
    const size_t n = std::min<size_t>(kBlock, static_cast<size_t>(end - p));
    const size_t base = out->size();
    out->resize(base + 2 * n);
    char* dst = out->data() + base;
    const char* const block_end = p + n;
    while (p < block_end) {
      if (block_end - p >= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        const uint64_t backslash = w ^ (kOnes * '\\');
        const uint64_t candidates = ((backslash - kOnes) & ~backslash) | ((w - kOnes * 0x0E) & ~w);
        if ((candidates & kHigh) == 0) {
          std::memcpy(dst, p, 8);
          dst += 8;
          p += 8;
          continue;
        }
      }
      const auto c = static_cast<unsigned char>(*p++);
      const char code = kCopyEscape[c];
      if (code == 0) {
        *dst++ = static_cast<char>(c);
      } else {
        dst[0] = '\\';
        dst[1] = code;
        dst += 2;
      }
    }
    out->resize(static_cast<size_t>(dst - out->data()));
  }
}

void CopyEncoder::AppendJsonString(std::string_view text, std::string* out) {
  out->reserve(out->size() + text.size() + 2);
  out->push_back('"');
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    const char* run = p;
    while (p < end && kJsonEscape[static_cast<unsigned char>(*p)] == 0) ++p;
    out->append(run, static_cast<size_t>(p - run));
    if (p == end) break;
    const auto c = static_cast<unsigned char>(*p);
    const char code = kJsonEscape[c];
    if (code == 'u') {
      const char escaped[6] = {'\\', 'u', '0', '0', kHexDigits[c >> 4], kHexDigits[c & 0xF]};
      out->append(escaped, 6);
    } else {
      const char escaped[2] = {'\\', code};
      out->append(escaped, 2);
    }
    ++p;
  }
  out->push_back('"');
}

}  // namespace owsync::shipper
