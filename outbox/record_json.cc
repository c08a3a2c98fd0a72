#include "outbox/record_json.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

namespace owsync::outbox {
namespace {

using nlohmann::json;

constexpr std::string_view kTypeNames[] = {
    "", "upsert", "delete", "schema", "snapshot_begin", "snapshot_end", "verify"};

json TextToJson(std::string_view s) {
  if (RecordJson::IsValidUtf8(s)) return std::string(s);
  return json{{"text_base64", RecordJson::Base64(s)}};
}

std::string RealToString(double d, json* extra_bits) {
  if (std::isnan(d)) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof(bits));
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(bits));
    *extra_bits = hex;
    return "nan";
  }
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), d);
  return std::string(buf, res.ptr);
}

json ValueToJson(const Value& v) {
  switch (v.type) {
    case ValueType::kNull:
      return nullptr;
    case ValueType::kInteger:
      return v.integer;
    case ValueType::kReal: {
      json bits;
      json out = {{"real", RealToString(v.real, &bits)}};
      if (!bits.is_null()) out["bits"] = bits;
      return out;
    }
    case ValueType::kText:
      return TextToJson(v.bytes);
    case ValueType::kBlob:
      return json{{"blob_base64", RecordJson::Base64(v.bytes)}};
  }
  return nullptr;
}

json ValuesToJson(const std::vector<Value>& values) {
  json out = json::array();
  for (const Value& v : values) out.push_back(ValueToJson(v));
  return out;
}

Status Bad(std::string_view what) {
  return Status::InvalidArgument("record JSON: " + std::string(what));
}

Result<std::string> TextFromJson(const json& j, std::string_view what) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.size() == 1 && j.contains("text_base64") && j["text_base64"].is_string()) {
    return RecordJson::FromBase64(j["text_base64"].get<std::string>());
  }
  return Bad(std::string(what) + " is neither a string nor {\"text_base64\": ...}");
}

Result<Value> ValueFromJson(const json& j) {
  if (j.is_null()) return Value::Null();
  if (j.is_number_unsigned() && j.get<uint64_t>() > uint64_t{INT64_MAX}) {
    return Bad("integer " + j.dump() + " does not fit in 64 bits");
  }
  if (j.is_number_integer()) return Value::Integer(j.get<int64_t>());
  if (j.is_string()) return Value::Text(j.get<std::string>());
  if (!j.is_object()) return Bad("value of an unknown kind: " + j.dump());
  if (j.contains("blob_base64") && j.size() == 1 && j["blob_base64"].is_string()) {
    OWSYNC_ASSIGN_OR_RETURN(std::string b,
                            RecordJson::FromBase64(j["blob_base64"].get<std::string>()));
    return Value::Blob(b);
  }
  if (j.contains("text_base64")) {
    OWSYNC_ASSIGN_OR_RETURN(std::string t, TextFromJson(j, "value"));
    return Value::Text(t);
  }
  if (j.contains("real") && j["real"].is_string()) {
    const std::string s = j["real"].get<std::string>();
    if (s == "nan") {
      if (j.size() != 2 || !j.contains("bits") || !j["bits"].is_string()) {
        return Bad("a NaN needs its \"bits\"");
      }
      const std::string hex = j["bits"].get<std::string>();
      uint64_t bits = 0;
      const auto res = std::from_chars(hex.data(), hex.data() + hex.size(), bits, 16);
      if (hex.size() != 16 || res.ec != std::errc() || res.ptr != hex.data() + hex.size()) {
        return Bad("NaN bits \"" + hex + "\" are not 16 hex digits");
      }
      double d;
      std::memcpy(&d, &bits, sizeof(d));
      if (!std::isnan(d)) return Bad("NaN bits \"" + hex + "\" are not a NaN");
      return Value::Real(d);
    }
    if (j.size() != 1) return Bad("unexpected members next to \"real\"");
    if (s == "inf") return Value::Real(HUGE_VAL);
    if (s == "-inf") return Value::Real(-HUGE_VAL);
    double d = 0;
    const auto res = std::from_chars(s.data(), s.data() + s.size(), d);
    if (s.empty() || res.ec != std::errc() || res.ptr != s.data() + s.size() || !std::isfinite(d)) {
      return Bad("real \"" + s + "\" is not a number");
    }
    return Value::Real(d);
  }
  return Bad("value of an unknown kind: " + j.dump());
}

Result<std::vector<Value>> ValuesFromJson(const json& j, const char* what) {
  if (!j.is_array()) return Bad(std::string(what) + " is not an array");
  std::vector<Value> out;
  for (const json& e : j) {
    OWSYNC_ASSIGN_OR_RETURN(Value v, ValueFromJson(e));
    out.push_back(std::move(v));
  }
  return out;
}

json ToJsonObject(const Record& r) {
  const auto type = static_cast<size_t>(r.type);
  json j;
  j["offset"] = r.offset;
  j["source_seq"] = r.source_seq;
  j["type"] = type < std::size(kTypeNames) && type > 0 ? std::string(kTypeNames[type])
                                                       : std::to_string(type);
  j["table"] = TextToJson(r.table);
  if (!r.key.empty()) j["key"] = ValuesToJson(r.key);
  if (!r.row.empty()) j["row"] = ValuesToJson(r.row);
  if (!r.columns.empty()) {
    json cols = json::array();
    for (const Column& c : r.columns) {
      cols.push_back({{"name", TextToJson(c.name)},
                      {"declared_type", TextToJson(c.declared_type)},
                      {"key_position", c.key_position},
                      {"not_null", c.not_null}});
    }
    j["columns"] = std::move(cols);
  }
  if (r.snapshot_begin_offset != 0) j["snapshot_begin_offset"] = r.snapshot_begin_offset;
  if (!r.capture_token.empty()) j["capture_token"] = r.capture_token;
  return j;
}

Result<Record> FromJsonObject(const json& j) {
  if (!j.is_object()) return Bad("not an object");
  Record r;
  for (const auto& [name, v] : j.items()) {
    if (name == "offset" || name == "source_seq" || name == "snapshot_begin_offset") {
      if (!v.is_number_unsigned()) return Bad(name + " is not an unsigned integer");
      const uint64_t n = v.get<uint64_t>();
      (name == "offset"       ? r.offset
       : name == "source_seq" ? r.source_seq
                              : r.snapshot_begin_offset) = n;
    } else if (name == "type") {
      if (!v.is_string()) return Bad("type is not a string");
      const std::string t = v.get<std::string>();
      size_t i = 1;
      while (i < std::size(kTypeNames) && kTypeNames[i] != t) ++i;
      if (i == std::size(kTypeNames)) return Bad("unknown type \"" + t + "\"");
      r.type = static_cast<RecordType>(i);
    } else if (name == "capture_token") {
      if (!v.is_string() || v.get<std::string>().empty()) {
        return Bad("capture_token is not a non-empty string");
      }
      r.capture_token = v.get<std::string>();
    } else if (name == "table") {
      OWSYNC_ASSIGN_OR_RETURN(r.table, TextFromJson(v, "table"));
    } else if (name == "key") {
      OWSYNC_ASSIGN_OR_RETURN(r.key, ValuesFromJson(v, "key"));
    } else if (name == "row") {
      OWSYNC_ASSIGN_OR_RETURN(r.row, ValuesFromJson(v, "row"));
    } else if (name == "columns") {
      if (!v.is_array()) return Bad("columns is not an array");
      for (const json& c : v) {
        if (!c.is_object() || !c.contains("name") || !c.contains("declared_type") ||
            !c.contains("key_position") || !c.contains("not_null") || c.size() != 4 ||
            !c["key_position"].is_number_unsigned() || !c["not_null"].is_boolean() ||
            c["key_position"].get<uint64_t>() > UINT32_MAX) {
          return Bad("malformed column " + c.dump());
        }
        Column col;
        OWSYNC_ASSIGN_OR_RETURN(col.name, TextFromJson(c["name"], "column name"));
        OWSYNC_ASSIGN_OR_RETURN(col.declared_type, TextFromJson(c["declared_type"], "column type"));
        col.key_position = c["key_position"].get<uint32_t>();
        col.not_null = c["not_null"].get<bool>();
        r.columns.push_back(std::move(col));
      }
    } else {
      return Bad("unknown member \"" + name + "\"");
    }
  }
  return r;
}

}  // namespace

std::string RecordJson::ToJson(const Record& record) { return ToJsonObject(record).dump(); }

Result<Record> RecordJson::FromJson(std::string_view text) {
  try {
    return FromJsonObject(json::parse(text));
  } catch (const json::exception& e) {
    return Bad(e.what());
  }
}

std::string RecordJson::ToText(const Record& r) {
  const auto type = static_cast<size_t>(r.type);
  std::string out = std::to_string(r.offset) + " " +
                    (type > 0 && type < std::size(kTypeNames) ? std::string(kTypeNames[type])
                                                              : "type" + std::to_string(type)) +
                    " " + TextToJson(r.table).dump() + " seq=" + std::to_string(r.source_seq);
  if (!r.key.empty()) out += " key=" + ValuesToJson(r.key).dump();
  if (!r.row.empty()) out += " row=" + ValuesToJson(r.row).dump();
  if (!r.columns.empty()) out += " columns=" + ToJsonObject(r)["columns"].dump();
  if (r.snapshot_begin_offset != 0) out += " begin=" + std::to_string(r.snapshot_begin_offset);
  if (!r.capture_token.empty()) out += " token=" + r.capture_token;
  return out;
}

bool RecordJson::IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte, overlong lead (C0, C1) or past F4
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

std::string RecordJson::Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63],
            kAlphabet[v & 63]};
  }
  if (bytes.size() - i == 1) {
    const uint32_t v = p[i] << 16;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (bytes.size() - i == 2) {
    const uint32_t v = (p[i] << 16) | (p[i + 1] << 8);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

Result<std::string> RecordJson::FromBase64(std::string_view text) {
  auto digit = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return Bad("base64 length is not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=') : 0;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const int d = k >= 4 - pad ? 0 : digit(text[i + k]);
      if (d < 0) return Bad("invalid base64 character");
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    // Unused bits of a padded group must be zero (one encoding per byte string).
    if ((pad == 1 && (v & 0xFF) != 0) || (pad == 2 && (v & 0xFFFF) != 0)) {
      return Bad("non-canonical base64 padding");
    }
    out.push_back(static_cast<char>(v >> 16));
    if (pad < 2) out.push_back(static_cast<char>((v >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(v & 0xFF));
  }
  return out;
}

}  // namespace owsync::outbox
