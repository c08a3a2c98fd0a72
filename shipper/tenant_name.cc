#include "shipper/tenant_name.h"

#include <cstdint>
#include <string>

namespace owsync::shipper {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool HasPrefixIgnoringCase(std::string_view name, std::string_view prefix) {
  if (name.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(name[i]) != prefix[i]) return false;
  }
  return true;
}

bool EqualsIgnoringCase(std::string_view name, std::string_view lower) {
  return name.size() == lower.size() && HasPrefixIgnoringCase(name, lower);
}

// Offset of the first byte that is not part of valid UTF-8 (overlongs, surrogates and code
// points above U+10FFFF are invalid), or npos.
size_t FirstInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::string Quoted(std::string_view name) { return "\"" + std::string(name) + "\""; }

}  // namespace

bool TenantName::IsReservedSchemaName(std::string_view name) {
  static constexpr std::string_view kExact[] = {"public",
                                                "auth",
                                                "storage",
                                                "extensions",
                                                "realtime",
                                                "information_schema",
                                                "vault",
                                                "cron",
                                                "net",
                                                "sync_metadata",
                                                "supabase_functions",
                                                "pgbouncer",
                                                "graphql",
                                                "graphql_public"};
  static constexpr std::string_view kPrefixes[] = {"pg_", "graphql", "supabase_", "pgsodium"};
  for (std::string_view r : kExact) {
    if (EqualsIgnoringCase(name, r)) return true;
  }
  for (std::string_view p : kPrefixes) {
    if (HasPrefixIgnoringCase(name, p)) return true;
  }
  return false;
}

Status TenantName::ValidateClientName(std::string_view client) {
  if (client.empty()) return Status::InvalidArgument("the client name is empty");
  if (client.size() > kMaxIdentifierBytes) {
    return Status::InvalidArgument("client name " + Quoted(client) + " is " +
                                   std::to_string(client.size()) +
                                   " bytes long; PostgreSQL identifiers (the tenant's schema) "
                                   "hold at most 63 bytes");
  }
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(client[0])) {
    return Status::InvalidArgument("client name " + Quoted(client) +
                                   " must start with an ASCII letter or digit");
  }
  for (char c : client) {
    if (!alnum(c) && c != '_' && c != '-') {
      return Status::InvalidArgument(
          "client name " + Quoted(client) +
          " may contain only ASCII letters, digits, '_' and '-' (it names the tenant's schema, "
          "its container and its outbox directory)");
    }
  }
  if (IsReservedSchemaName(client)) {
    return Status::InvalidArgument(
        "client name " + Quoted(client) +
        " is refused: PostgreSQL or Supabase own that schema name (public, auth, storage, "
        "extensions, realtime, graphql*, pg_*, information_schema, sync_metadata, vault, "
        "supabase_*, cron, net, pgsodium*, pgbouncer); choose another client name");
  }
  return Status::OK();
}

Status TenantName::ValidateIdentifier(std::string_view what, std::string_view name) {
  if (name.empty()) return Status::InvalidArgument(std::string(what) + " has an empty name");
  if (name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument(std::string(what) + " " + Quoted(name) +
                                   " contains a NUL byte, which PostgreSQL identifiers cannot");
  }
  const size_t bad = FirstInvalidUtf8(name);
  if (bad != std::string_view::npos) {
    return Status::InvalidArgument(std::string(what) + " name is not valid UTF-8 (byte " +
                                   std::to_string(bad) + "); PostgreSQL cannot store it");
  }
  if (name.size() > kMaxIdentifierBytes) {
    return Status::InvalidArgument(std::string(what) + " " + Quoted(name) + " is " +
                                   std::to_string(name.size()) +
                                   " bytes long; PostgreSQL identifiers hold at most 63 bytes "
                                   "(a longer one would be truncated). Rename it in SQLite or "
                                   "exclude the table from replication");
  }
  return Status::OK();
}

bool TenantName::IsOwsyncName(std::string_view name) {
  return HasPrefixIgnoringCase(name, "_owsync_");
}

Status TenantName::ValidateTableName(std::string_view table) {
  OWSYNC_RETURN_IF_ERROR(ValidateIdentifier("table", table));
  if (IsOwsyncName(table)) {
    return Status::InvalidArgument("table " + Quoted(table) +
                                   " is refused: names starting with _owsync_ are owsync's own");
  }
  return Status::OK();
}

Status TenantName::ValidateColumnName(std::string_view table, std::string_view column) {
  OWSYNC_RETURN_IF_ERROR(ValidateIdentifier("table " + Quoted(table) + " column", column));
  if (IsOwsyncName(column)) {
    return Status::InvalidArgument(
        "table " + Quoted(table) + " column " + Quoted(column) +
        " is refused: columns starting with _owsync_ are owsync's sync columns in PostgreSQL "
        "(_owsync_offset, _owsync_deleted_at, _owsync_dirty, _owsync_extra); rename it in "
        "SQLite or exclude the table");
  }
  return Status::OK();
}

}  // namespace owsync::shipper
