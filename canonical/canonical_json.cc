#include "canonical/canonical_json.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "util/utf8.h"

namespace owsync::canonical {
namespace {

constexpr int kMaxDepth = 1100;  // above simdjson's 1024, which the copy encoder enforces

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  Status Document(std::string* out) {
    SkipSpace();
    OWSYNC_RETURN_IF_ERROR(Value(out, 0));
    SkipSpace();
    if (pos_ != in_.size()) return Error("trailing bytes after the value");
    return Status::OK();
  }

 private:
  Status Error(const std::string& why) const {
    return Status::InvalidArgument("not JSON jsonb takes (" + why + " at byte offset " +
                                   std::to_string(pos_) + ")");
  }
  void SkipSpace() {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Literal(std::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Status Value(std::string* out, int depth) {
    if (depth > kMaxDepth) return Error("nesting too deep");
    if (pos_ >= in_.size()) return Error("a value expected");
    const char c = in_[pos_];
    if (c == '{') return Object(out, depth + 1);
    if (c == '[') return Array(out, depth + 1);
    if (c == '"') {
      std::string s;
      OWSYNC_RETURN_IF_ERROR(String(&s));
      AppendString(s, out);
      return Status::OK();
    }
    if (c == '-' || (c >= '0' && c <= '9')) return Number(out);
    for (std::string_view word : {"true", "false", "null"}) {
      if (Literal(word)) {
        out->append(word);
        return Status::OK();
      }
    }
    return Error("an unexpected character");
  }

  Status Object(std::string* out, int depth) {
    ++pos_;  // {
    std::vector<std::pair<std::string, std::string>> members;
    SkipSpace();
    if (pos_ < in_.size() && in_[pos_] == '}') {
      ++pos_;
    } else {
      while (true) {
        SkipSpace();
        if (pos_ >= in_.size() || in_[pos_] != '"') return Error("a member name expected");
        std::string key, value;
        OWSYNC_RETURN_IF_ERROR(String(&key));
        SkipSpace();
        if (pos_ >= in_.size() || in_[pos_] != ':') return Error("':' expected");
        ++pos_;
        SkipSpace();
        OWSYNC_RETURN_IF_ERROR(Value(&value, depth));
        members.emplace_back(std::move(key), std::move(value));
        SkipSpace();
        if (pos_ < in_.size() && in_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < in_.size() && in_[pos_] == '}') {
          ++pos_;
          break;
        }
        return Error("',' or '}' expected");
      }
    }
    // Sorted by key; of equal keys the last one written wins (stable sort, keep the last).
    std::stable_sort(members.begin(), members.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    out->push_back('{');
    bool first = true;
    for (size_t i = 0; i < members.size(); ++i) {
      if (i + 1 < members.size() && members[i + 1].first == members[i].first) continue;
      if (!first) out->push_back(',');
      first = false;
      AppendString(members[i].first, out);
      out->push_back(':');
      out->append(members[i].second);
    }
    out->push_back('}');
    return Status::OK();
  }

  Status Array(std::string* out, int depth) {
    ++pos_;  // [
    out->push_back('[');
    SkipSpace();
    if (pos_ < in_.size() && in_[pos_] == ']') {
      ++pos_;
      out->push_back(']');
      return Status::OK();
    }
    while (true) {
      SkipSpace();
      OWSYNC_RETURN_IF_ERROR(Value(out, depth));
      SkipSpace();
      if (pos_ < in_.size() && in_[pos_] == ',') {
        ++pos_;
        out->push_back(',');
        continue;
      }
      if (pos_ < in_.size() && in_[pos_] == ']') {
        ++pos_;
        out->push_back(']');
        return Status::OK();
      }
      return Error("',' or ']' expected");
    }
  }

  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  bool Hex4(uint32_t* v) {
    if (in_.size() - pos_ < 4) return false;
    *v = 0;
    for (int k = 0; k < 4; ++k) {
      const int h = Hex(in_[pos_ + k]);
      if (h < 0) return false;
      *v = *v * 16 + static_cast<uint32_t>(h);
    }
    pos_ += 4;
    return true;
  }
  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  // One well-formed UTF-8 sequence at pos_ copied to *out; false when there is none.
  bool Utf8Sequence(std::string* out) {
    const size_t len = Utf8SequenceAt(in_, pos_);
    if (len == 0) return false;
    out->append(in_.substr(pos_, len));
    pos_ += len;
    return true;
  }

  Status String(std::string* s) {
    ++pos_;  // "
    while (true) {
      if (pos_ >= in_.size()) return Error("an unterminated string");
      const auto c = static_cast<unsigned char>(in_[pos_]);
      if (c == '"') {
        ++pos_;
        return Status::OK();
      }
      if (c < 0x20) return Error("a control character in a string");
      if (c >= 0x80) {
        if (!Utf8Sequence(s)) return Error("invalid UTF-8");
        continue;
      }
      if (c != '\\') {
        s->push_back(static_cast<char>(c));
        ++pos_;
        continue;
      }
      if (++pos_ >= in_.size()) return Error("an unterminated escape");
      const char e = in_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          s->push_back(e);
          break;
        case 'b':
          s->push_back('\b');
          break;
        case 'f':
          s->push_back('\f');
          break;
        case 'n':
          s->push_back('\n');
          break;
        case 'r':
          s->push_back('\r');
          break;
        case 't':
          s->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return Error("a malformed \\u escape");
          if (cp == 0) return Error("a \\u0000 escape");
          if (cp >= 0xDC00 && cp <= 0xDFFF) return Error("a lone low surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low;
            if (in_.substr(pos_, 2) != "\\u") return Error("a lone high surrogate");
            pos_ += 2;
            if (!Hex4(&low) || low < 0xDC00 || low > 0xDFFF) {
              return Error("a lone high surrogate");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(cp, s);
          break;
        }
        default:
          return Error("an unknown escape");
      }
    }
  }

  static void AppendString(const std::string& s, std::string* out) {
    static constexpr char kHex[] = "0123456789abcdef";
    out->push_back('"');
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') {
        out->push_back('\\');
        out->push_back(static_cast<char>(c));
      } else if (c < 0x20) {
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
      } else {
        out->push_back(static_cast<char>(c));
      }
    }
    out->push_back('"');
  }

  Status Number(std::string* out) {
    bool negative = false;
    if (in_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    std::string digits;  // integer and fraction digits, in order
    int64_t exponent = 0;
    auto is_digit = [&](size_t i) { return i < in_.size() && in_[i] >= '0' && in_[i] <= '9'; };
    if (!is_digit(pos_)) return Error("a digit expected");
    if (in_[pos_] == '0') {
      digits.push_back('0');
      ++pos_;
      if (is_digit(pos_)) return Error("a leading zero");
    } else {
      while (is_digit(pos_)) digits.push_back(in_[pos_++]);
    }
    if (pos_ < in_.size() && in_[pos_] == '.') {
      ++pos_;
      if (!is_digit(pos_)) return Error("a digit expected after '.'");
      while (is_digit(pos_)) {
        digits.push_back(in_[pos_++]);
        --exponent;
      }
    }
    if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
      ++pos_;
      bool exp_negative = false;
      if (pos_ < in_.size() && (in_[pos_] == '+' || in_[pos_] == '-')) {
        exp_negative = in_[pos_] == '-';
        ++pos_;
      }
      if (!is_digit(pos_)) return Error("a digit expected in the exponent");
      int64_t e = 0;
      while (is_digit(pos_)) {
        if (e > 100'000'000) return Error("an exponent out of range");
        e = e * 10 + (in_[pos_++] - '0');
      }
      exponent += exp_negative ? -e : e;
    }
    // By value: no leading zeros, trailing zeros moved into the exponent; zero is "0".
    const size_t first = digits.find_first_not_of('0');
    if (first == std::string::npos) {
      out->push_back('0');
      return Status::OK();
    }
    size_t last = digits.find_last_not_of('0');
    exponent += static_cast<int64_t>(digits.size() - 1 - last);
    if (negative) out->push_back('-');
    out->append(digits, first, last - first + 1);
    if (exponent != 0) {
      out->push_back('e');
      out->append(std::to_string(exponent));
    }
    return Status::OK();
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

Status AppendCanonicalJson(std::string_view json, std::string* out) {
  std::string result;
  result.reserve(json.size());
  Parser parser(json);
  OWSYNC_RETURN_IF_ERROR(parser.Document(&result));
  out->append(result);
  return Status::OK();
}

}  // namespace owsync::canonical
