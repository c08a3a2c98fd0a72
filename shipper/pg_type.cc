#include "shipper/pg_type.h"

#include <array>
#include <string>

namespace owsync::shipper {
namespace {

struct NamedType {
  std::string_view name;
  PgType type;
};

// Declared type names (upper case, single spaces) with their own mapping.
constexpr std::array<NamedType, 27> kNamed = {{
    {"INT", PgType::kBigint},      {"INTEGER", PgType::kBigint},
    {"BIGINT", PgType::kBigint},   {"SMALLINT", PgType::kBigint},
    {"TINYINT", PgType::kBigint},  {"MEDIUMINT", PgType::kBigint},
    {"INT2", PgType::kBigint},     {"INT8", PgType::kBigint},
    {"BOOLEAN", PgType::kBoolean}, {"BOOL", PgType::kBoolean},
    {"REAL", PgType::kDouble},     {"FLOAT", PgType::kDouble},
    {"DOUBLE", PgType::kDouble},   {"DOUBLE PRECISION", PgType::kDouble},
    {"NUMERIC", PgType::kNumeric}, {"DECIMAL", PgType::kNumeric},
    {"TEXT", PgType::kText},       {"CHAR", PgType::kText},
    {"VARCHAR", PgType::kText},    {"CLOB", PgType::kText},
    {"DATE", PgType::kText},       {"DATETIME", PgType::kText},
    {"TIMESTAMP", PgType::kText},  {"TIME", PgType::kText},
    {"BLOB", PgType::kBytea},      {"JSON", PgType::kJsonb},
    {"JSONB", PgType::kJsonb},
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

PgType PgTypeForDeclared(std::string_view declared_type) {
  const std::string name = Normalize(declared_type);
  for (const NamedType& n : kNamed) {
    if (n.name == name) return n.type;
  }
  // SQLite's affinity rules (https://sqlite.org/datatype3.html, 3.1), in their order.
  const std::string_view v = name;
  auto has = [&](std::string_view s) { return v.find(s) != std::string_view::npos; };
  if (has("INT")) return PgType::kBigint;
  if (has("CHAR") || has("CLOB") || has("TEXT")) return PgType::kText;
  if (has("BLOB") || v.empty()) return PgType::kBytea;
  if (has("REAL") || has("FLOA") || has("DOUB")) return PgType::kDouble;
  return PgType::kNumeric;
}

std::string_view PgTypeSql(PgType type) {
  switch (type) {
    case PgType::kBigint:
      return "bigint";
    case PgType::kBoolean:
      return "boolean";
    case PgType::kDouble:
      return "double precision";
    case PgType::kNumeric:
      return "numeric";
    case PgType::kText:
      return "text";
    case PgType::kBytea:
      return "bytea";
    case PgType::kJsonb:
      return "jsonb";
  }
  return "text";
}

bool PgTypeIsToastable(PgType type) {
  return type == PgType::kText || type == PgType::kBytea || type == PgType::kJsonb;
}

PgType PgTypeFromFormatType(std::string_view t) {
  if (t == "bigint" || t == "integer" || t == "smallint") return PgType::kBigint;
  if (t == "boolean") return PgType::kBoolean;
  if (t == "double precision" || t == "real") return PgType::kDouble;
  if (t.starts_with("numeric")) return PgType::kNumeric;
  if (t == "bytea") return PgType::kBytea;
  if (t == "jsonb" || t == "json") return PgType::kJsonb;
  return PgType::kText;
}

}  // namespace owsync::shipper
