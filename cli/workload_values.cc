#include "cli/workload_values.h"

#include <cmath>
#include <limits>

namespace owsync::cli {
namespace {

using outbox::Value;

constexpr const char* kWords[] = {
    "the",     "model",   "answer",  "question",  "token",  "context", "vector", "search",
    "summary", "about",   "please",  "explain",   "python", "deploy",  "server", "tenant",
    "prompt",  "weather", "library", "function",  "result", "because", "config", "request",
    "könig",   "naïve",   "日本語",  "emoji🙂", "quote'", "dq\"x",   "back\\", "tab\tx"};
constexpr int kUserPool = 8;

bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }
bool IsIntegerType(const std::string& t) { return Contains(t, "INT"); }
bool IsBoolType(const std::string& t) { return Contains(t, "BOOL"); }
bool IsDateType(const std::string& t) { return Contains(t, "DATE") || Contains(t, "TIME"); }
bool IsJsonType(const std::string& t) { return Contains(t, "JSON"); }
bool IsRealType(const std::string& t) {
  return Contains(t, "REAL") || Contains(t, "FLOA") || Contains(t, "DOUB");
}
bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool NanosecondTable(const std::string& table) {
  return table == "message" || table == "channel" || table == "note";
}
std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string WorkloadValues::Uuid() {
  std::string h = rng_->Hex(32);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-4" + h.substr(13, 3) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

std::string WorkloadValues::Words(size_t target_bytes) {
  std::string out;
  while (out.size() < target_bytes) {
    if (!out.empty()) out += ' ';
    out += kWords[rng_->Uniform(std::size(kWords))];
  }
  return out;
}

std::string WorkloadValues::SmallJson(size_t target_bytes) {
  std::string out = "{\"v\":" + std::to_string(rng_->Uniform(1000));
  for (int i = 0; out.size() + 2 < target_bytes; ++i) {  // distinct keys
    out += ",\"k" + std::to_string(i) + rng_->Hex(3) + "\":\"" +
           JsonEscape(Words(8 + rng_->Uniform(40))) + "\"";
  }
  return out + "}";
}

std::string WorkloadValues::ChatJson(size_t target_bytes) {
  std::string out = "{\"id\":\"" + Uuid() + "\",\"title\":\"" + JsonEscape(Words(24)) +
                    "\",\"models\":[\"llama3:8b\"],\"params\":{},\"messages\":[";
  std::string parent = "null";
  for (int i = 0; out.size() + 64 < target_bytes; ++i) {
    std::string id = Uuid();
    if (i > 0) out += ',';
    out += "{\"id\":\"" + id + "\",\"parentId\":" + parent + ",\"role\":\"" +
           (i % 2 == 0 ? "user" : "assistant") + "\",\"content\":\"" +
           JsonEscape(Words(100 + rng_->Uniform(900))) +
           "\",\"timestamp\":" + std::to_string(1'700'000'000 + rng_->Uniform(50'000'000)) + "}";
    parent = "\"" + id + "\"";
  }
  return out + "],\"tags\":[]}";
}

Value WorkloadValues::Odd(const WorkloadColumn& column) {
  switch (rng_->Uniform(12)) {
    case 0:
      return Value::Text(std::string("nul\0in\0text ", 13) + rng_->Hex(6));
    case 1:
      return Value::Text("bad \xff\xfe utf8 \xc3\x28 " + rng_->Hex(6));
    case 2: {
      std::string bytes = rng_->Hex(8);
      bytes += std::string("\0\x01\xff\x80", 4);
      return Value::Blob(bytes);
    }
    case 3:  // SQLite stores a NaN as NULL: only where NULL is allowed
      return column.not_null ? Value::Real(std::numeric_limits<double>::infinity())
                             : Value::Real(std::numeric_limits<double>::quiet_NaN());
    case 4:
      return Value::Real(std::numeric_limits<double>::infinity());
    case 5:
      return Value::Real(-std::numeric_limits<double>::infinity());
    case 6:
      return Value::Real(-0.0);
    case 7:
      return Value::Integer(std::numeric_limits<int64_t>::min());
    case 8:
      return Value::Integer(std::numeric_limits<int64_t>::max());
    case 9:  // the wrong type for the declared one
      if (IsIntegerType(column.declared_type) || IsBoolType(column.declared_type)) {
        return Value::Text("not a number " + rng_->Hex(4));
      }
      return Value::Integer(static_cast<int64_t>(rng_->Next() >> 1));
    case 10:
      return Value::Real(rng_->Chance(0.5) ? 4.9406564584124654e-324 : 3.141592653589793);
    default:
      return rng_->Chance(0.5) ? Value::Text("") : Value::Blob("");
  }
}

Value WorkloadValues::Regular(const WorkloadTable& table, int column, int64_t now_seconds) {
  const WorkloadColumn& c = table.columns[column];
  const std::string& n = c.name;
  const std::string& t = c.declared_type;
  if (c.in_secondary_unique) {
    if (!c.not_null && rng_->Chance(0.2)) return Value::Null();
    if (IsIntegerType(t)) return Value::Integer(static_cast<int64_t>(rng_->Next() >> 2));
    if (n == "email") return Value::Text("user-" + rng_->Hex(16) + "@example.com");
    if (n == "command") return Value::Text("/cmd-" + rng_->Hex(16));
    if (n == "api_key" || n == "key") return Value::Text("sk-" + rng_->Hex(32));
    return Value::Text(Uuid());
  }
  if (!c.not_null && rng_->Chance(0.1)) return Value::Null();
  if (IsDateType(t)) {
    if (Contains(t, "TIME"))
      return Value::Text("2025-09-28 03:" + std::to_string(10 + rng_->Uniform(50)) + ":37");
    return Value::Text("19" + std::to_string(50 + rng_->Uniform(50)) + "-05-17");
  }
  if (EndsWith(n, "_at") || n == "timestamp") {
    int64_t v = now_seconds + static_cast<int64_t>(rng_->Uniform(5));
    return Value::Integer(NanosecondTable(table.name) ? v * 1'000'000'000 : v);
  }
  if (IsBoolType(t)) return Value::Integer(static_cast<int64_t>(rng_->Uniform(2)));
  if (n == "user_id" || n == "principal_id") {
    return Value::Text("user-" + std::to_string(rng_->Uniform(kUserPool)));
  }
  if (n == "chat" && (table.name == "chat" || table.name == "shared_chat")) {
    // log-uniform between 1 KB and 50 KB
    double bytes = 1024.0 * std::exp(rng_->Unit() * std::log(50.0));
    return Value::Text(ChatJson(static_cast<size_t>(bytes)));
  }
  if (n == "content") {
    std::string text = Words(250 + rng_->Uniform(200));
    if (IsJsonType(t)) return Value::Text("{\"text\":\"" + JsonEscape(text) + "\"}");
    return Value::Text(text);
  }
  if (n == "role") {
    static constexpr const char* kRoles[] = {"user", "assistant", "admin", "pending"};
    return Value::Text(kRoles[rng_->Uniform(4)]);
  }
  if (n == "password") return Value::Text("$2b$12$" + rng_->Hex(53));
  if (n == "email") return Value::Text("user-" + rng_->Hex(12) + "@example.com");
  if (IsJsonType(t)) return Value::Text(SmallJson(20 + rng_->Uniform(380)));
  if (IsIntegerType(t)) return Value::Integer(static_cast<int64_t>(rng_->Uniform(1000)));
  if (IsRealType(t)) return Value::Real(static_cast<double>(rng_->Uniform(1'000'000)) / 7.0);
  if (EndsWith(n, "_id") || n == "id") return Value::Text(Uuid());
  return Value::Text(Words(8 + rng_->Uniform(72)));
}

Value WorkloadValues::ForColumn(const WorkloadTable& table, int column, int64_t now_seconds,
                                bool* odd) {
  *odd = false;
  const WorkloadColumn& c = table.columns[column];
  if (!c.in_secondary_unique && rng_->Chance(odd_rate_)) {
    *odd = true;
    return Odd(c);
  }
  return Regular(table, column, now_seconds);
}

Value WorkloadValues::NewKeyValue(const WorkloadTable& table, int column) {
  const WorkloadColumn& c = table.columns[column];
  if (table.rowid_key || IsIntegerType(c.declared_type)) {
    if (rng_->Chance(odd_rate_ / 2)) {
      int64_t off = static_cast<int64_t>(rng_->Uniform(1'000'000'000));
      return Value::Integer(rng_->Chance(0.5) ? std::numeric_limits<int64_t>::max() - off
                                              : std::numeric_limits<int64_t>::min() + off);
    }
    return Value::Integer(static_cast<int64_t>(1 + rng_->Uniform(uint64_t{1} << 53)));
  }
  if (rng_->Chance(odd_rate_ / 2)) {
    static constexpr const char* kOddKeys[] = {"it's a \"quoted\" key ",
                                               "key with  spaces ",
                                               "ключ-ü-日本-🙂 ",
                                               "select from where ",
                                               "NULL ",
                                               "-- comment; "};
    return Value::Text(std::string(kOddKeys[rng_->Uniform(std::size(kOddKeys))]) + Uuid());
  }
  return Value::Text(Uuid());
}

std::vector<Value> WorkloadValues::NewKey(const WorkloadTable& table) {
  std::vector<Value> key;
  for (int column : table.key) {
    const std::string& n = table.columns[column].name;
    if (table.key.size() > 1 && n == "user_id") {
      key.push_back(Value::Text("user-" + std::to_string(rng_->Uniform(kUserPool))));
    } else {
      key.push_back(NewKeyValue(table, column));
    }
  }
  return key;
}

}  // namespace owsync::cli
