#include "canonical/target_type.h"

#include <array>
#include <string>

namespace owsync::canonical {
namespace {

struct NamedType {
  std::string_view name;
  TargetType type;
};

// Declared type names (upper case, single spaces) with their own mapping.
constexpr std::array<NamedType, 27> kNamed = {{
    {"INT", TargetType::kBigint},      {"INTEGER", TargetType::kBigint},
    {"BIGINT", TargetType::kBigint},   {"SMALLINT", TargetType::kBigint},
    {"TINYINT", TargetType::kBigint},  {"MEDIUMINT", TargetType::kBigint},
    {"INT2", TargetType::kBigint},     {"INT8", TargetType::kBigint},
    {"BOOLEAN", TargetType::kBoolean}, {"BOOL", TargetType::kBoolean},
    {"REAL", TargetType::kDouble},     {"FLOAT", TargetType::kDouble},
    {"DOUBLE", TargetType::kDouble},   {"DOUBLE PRECISION", TargetType::kDouble},
    {"NUMERIC", TargetType::kNumeric}, {"DECIMAL", TargetType::kNumeric},
    {"TEXT", TargetType::kText},       {"CHAR", TargetType::kText},
    {"VARCHAR", TargetType::kText},    {"CLOB", TargetType::kText},
    {"DATE", TargetType::kText},       {"DATETIME", TargetType::kText},
    {"TIMESTAMP", TargetType::kText},  {"TIME", TargetType::kText},
    {"BLOB", TargetType::kBytea},      {"JSON", TargetType::kJsonb},
    {"JSONB", TargetType::kJsonb},
}};

// Upper-cased `declared` without its "(n,m)" suffix, whitespace runs collapsed to one space.
std::string Normalize(std::string_view declared) {
  const size_t paren = declared.find('(');
  if (paren != std::string_view::npos) declared = declared.substr(0, paren);
  std::string out;
  out.reserve(declared.size());
  bool space = false;
  for (char c : declared) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return out;
}

}  // namespace

TargetType TargetTypeForDeclared(std::string_view declared_type) {
  const std::string name = Normalize(declared_type);
  for (const NamedType& n : kNamed) {
    if (n.name == name) return n.type;
  }
  // SQLite's affinity rules (https://sqlite.org/datatype3.html, 3.1), in their order.
  const std::string_view v = name;
  auto has = [&](std::string_view s) { return v.find(s) != std::string_view::npos; };
  if (has("INT")) return TargetType::kBigint;
  if (has("CHAR") || has("CLOB") || has("TEXT")) return TargetType::kText;
  if (has("BLOB") || v.empty()) return TargetType::kBytea;
  if (has("REAL") || has("FLOA") || has("DOUB")) return TargetType::kDouble;
  return TargetType::kNumeric;
}

std::string_view TargetTypeSql(TargetType type) {
  switch (type) {
    case TargetType::kBigint:
      return "bigint";
    case TargetType::kBoolean:
      return "boolean";
    case TargetType::kDouble:
      return "double precision";
    case TargetType::kNumeric:
      return "numeric";
    case TargetType::kText:
      return "text";
    case TargetType::kBytea:
      return "bytea";
    case TargetType::kJsonb:
      return "jsonb";
  }
  return "text";
}

bool TargetTypeIsToastable(TargetType type) {
  return type == TargetType::kText || type == TargetType::kBytea || type == TargetType::kJsonb;
}

TargetType TargetTypeFromFormatType(std::string_view t) {
  if (t == "bigint" || t == "integer" || t == "smallint") return TargetType::kBigint;
  if (t == "boolean") return TargetType::kBoolean;
  if (t == "double precision" || t == "real") return TargetType::kDouble;
  if (t.starts_with("numeric")) return TargetType::kNumeric;
  if (t == "bytea") return TargetType::kBytea;
  if (t == "jsonb" || t == "json") return TargetType::kJsonb;
  return TargetType::kText;
}

}  // namespace owsync::canonical
