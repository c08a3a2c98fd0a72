#include "cli/db_admin.h"

#include <sys/random.h>

#include <cctype>
#include <cerrno>

#include "cli/catalog_fingerprint.h"
#include "cli/embedded_sql.h"
#include "shipper/deadline.h"
#include "shipper/pg_connection.h"
#include "shipper/pg_error.h"

namespace owsync::cli {
namespace {

using shipper::Deadline;
using shipper::PgConnection;
using shipper::PgResult;

constexpr int64_t kConnectMicros = 15'000'000;
constexpr int64_t kStatementMicros = 120'000'000;
// Serializes `db init` and `db add-host` runs against one database ("owsync" in ASCII).
constexpr const char* kLockSql = "SELECT pg_catalog.pg_advisory_xact_lock(122511758519651)";
constexpr int kPasswordBytes = 24;

Result<std::string> RandomPassword() {
  unsigned char buf[kPasswordBytes];
  size_t got = 0;
  while (got < sizeof(buf)) {
    const ssize_t n = ::getrandom(buf + got, sizeof(buf) - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("getrandom", errno);
    }
    got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : buf) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

bool Matches(std::string_view s, size_t max_len, bool (*first)(char), bool (*rest)(char)) {
  if (s.empty() || s.size() > max_len || !first(s[0])) return false;
  for (char c : s.substr(1)) {
    if (!rest(c)) return false;
  }
  return true;
}

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool IsHostChar(char c) { return IsAlnum(c) || c == '.' || c == '-' || c == '_'; }
bool IsRoleFirst(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }
bool IsRoleChar(char c) { return IsRoleFirst(c) || (c >= '0' && c <= '9'); }

}  // namespace

Status DbAdmin::ValidateHostName(std::string_view name) {
  if (Matches(name, 255, IsAlnum, IsHostChar)) return Status::OK();
  return Status::InvalidArgument("invalid host name '" + std::string(name) +
                                 "': use 1-255 letters, digits, '.', '-' or '_', starting with "
                                 "a letter or digit");
}

Status DbAdmin::ValidateClusterName(std::string_view name) {
  if (Matches(name, 100, IsAlnum, IsHostChar)) return Status::OK();
  return Status::InvalidArgument("invalid cluster name '" + std::string(name) +
                                 "': use 1-100 letters, digits, '.', '-' or '_', starting with "
                                 "a letter or digit");
}

Status DbAdmin::ValidateRoleName(std::string_view role) {
  if (!Matches(role, 63, IsRoleFirst, IsRoleChar)) {
    return Status::InvalidArgument("invalid role name '" + std::string(role) +
                                   "': use 1-63 lower-case letters, digits or '_', starting with "
                                   "a letter or '_'");
  }
  static constexpr std::string_view kReserved[] = {
      "sync_service",  "owsync_admin", "postgres",     "public",        "none",
      "current_user",  "session_user", "current_role", "authenticator", "anon",
      "authenticated", "service_role", "pgbouncer"};
  for (std::string_view r : kReserved) {
    if (role == r) {
      return Status::InvalidArgument("role name '" + std::string(role) +
                                     "' is reserved; choose another with --role");
    }
  }
  if (role.substr(0, 3) == "pg_" || role.substr(0, 8) == "supabase") {
    return Status::InvalidArgument(
        "role names starting with pg_ or supabase belong to "
        "PostgreSQL or Supabase; choose another with --role");
  }
  return Status::OK();
}

Result<std::string> DbAdmin::DefaultRoleForHost(std::string_view name) {
  OWSYNC_RETURN_IF_ERROR(ValidateHostName(name));
  std::string role = "owsync_host_";
  for (char c : name) {
    role += (c == '.' || c == '-') ? '_'
                                   : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (role.size() > 63) {
    return Status::InvalidArgument("the role name derived from host '" + std::string(name) +
                                   "' would be longer than 63 bytes; choose one with --role");
  }
  OWSYNC_RETURN_IF_ERROR(ValidateRoleName(role));
  return role;
}

Result<DbInitReport> DbAdmin::Init(const std::string& admin_url) {
  OWSYNC_ASSIGN_OR_RETURN(
      PgConnection conn,
      PgConnection::Connect(clock_, admin_url, Deadline::After(clock_, kConnectMicros),
                            {.logger = logger_}));
  auto exec = [&](std::string_view sql) {
    return conn.Exec(sql, Deadline::After(clock_, kStatementMicros));
  };
  OWSYNC_RETURN_IF_ERROR(exec("BEGIN").status());
  OWSYNC_RETURN_IF_ERROR(exec(kLockSql).status());
  OWSYNC_ASSIGN_OR_RETURN(CatalogFingerprint before,
                          ReadCatalogFingerprint(&conn, Deadline::After(clock_, kStatementMicros)));
  for (const EmbeddedSqlScript& script : EmbeddedSqlScripts()) {
    auto applied = exec(script.text);
    if (!applied.ok()) return applied.status().WithContext("applying " + std::string(script.name));
  }
  OWSYNC_ASSIGN_OR_RETURN(CatalogFingerprint after,
                          ReadCatalogFingerprint(&conn, Deadline::After(clock_, kStatementMicros)));
  DbInitReport report;
  report.changes = DiffFingerprints(before, after);
  report.changed = !report.changes.empty();
  // Nothing differs: roll back, so a repeated init leaves the catalog exactly as it was.
  OWSYNC_RETURN_IF_ERROR(exec(report.changed ? "COMMIT" : "ROLLBACK").status());
  return report;
}

Result<AddHostResult> DbAdmin::AddHost(const std::string& admin_url, const AddHostRequest& req) {
  OWSYNC_RETURN_IF_ERROR(ValidateHostName(req.name));
  AddHostResult result;
  result.cluster = req.cluster.empty() ? req.name : req.cluster;
  OWSYNC_RETURN_IF_ERROR(ValidateClusterName(result.cluster));
  if (req.role.empty()) {
    OWSYNC_ASSIGN_OR_RETURN(result.role, DefaultRoleForHost(req.name));
  } else {
    OWSYNC_RETURN_IF_ERROR(ValidateRoleName(req.role));
    result.role = req.role;
  }
  if (req.password_file.empty()) return Status::InvalidArgument("no password file given");

  OWSYNC_ASSIGN_OR_RETURN(
      PgConnection conn,
      PgConnection::Connect(clock_, admin_url, Deadline::After(clock_, kConnectMicros),
                            {.logger = logger_}));
  auto exec = [&](std::string_view sql, const std::vector<std::optional<std::string>>& params) {
    return conn.ExecParams(sql, params, Deadline::After(clock_, kStatementMicros));
  };
  // Any early return closes the connection, which rolls the transaction back.
  OWSYNC_RETURN_IF_ERROR(exec("BEGIN", {}).status());
  OWSYNC_RETURN_IF_ERROR(exec(kLockSql, {}).status());
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult ready,
      exec("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'sync_service') "
           "AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attname = 'db_role' "
           "  AND attrelid = to_regclass('sync_metadata.hosts'))",
           {}));
  if (ready.GetValue(0, 0) != "t") {
    return Status::FailedPrecondition(
        "the sync_metadata schema or the sync_service role is missing: run `owsync db init` "
        "first");
  }
  OWSYNC_ASSIGN_OR_RETURN(PgResult host, exec("SELECT db_role FROM sync_metadata.hosts "
                                              "WHERE hostname = $1 AND cluster_name = $2",
                                              {req.name, result.cluster}));
  if (host.rows() > 0) {
    return Status::AlreadyExists(
        "host '" + req.name + "' of cluster '" + result.cluster + "' is already registered (role " +
        std::string(host.IsNull(0, 0) ? "none" : host.GetValue(0, 0)) + "); nothing was changed");
  }
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult role, exec("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", {result.role}));
  if (role.rows() > 0) {
    return Status::AlreadyExists("role '" + result.role +
                                 "' already exists; choose another with --role (nothing was "
                                 "changed)");
  }

  OWSYNC_ASSIGN_OR_RETURN(std::string password, RandomPassword());
  OWSYNC_ASSIGN_OR_RETURN(std::string verifier, conn.ScramVerifier(password, result.role));
  OWSYNC_ASSIGN_OR_RETURN(std::string role_ident, conn.QuoteIdentifier(result.role));
  OWSYNC_ASSIGN_OR_RETURN(std::string verifier_literal, conn.QuoteLiteral(verifier));
  OWSYNC_RETURN_IF_ERROR(
      exec("CREATE ROLE " + role_ident +
               " WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT NOREPLICATION "
               "NOBYPASSRLS CONNECTION LIMIT 64 IN ROLE sync_service PASSWORD " +
               verifier_literal,
           {})
          .status()
          .WithContext("creating role " + result.role));
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult inserted,
      exec("INSERT INTO sync_metadata.hosts (hostname, cluster_name, db_role, status) "
           "VALUES ($1, $2, $3, 'active') RETURNING host_id",
           {req.name, result.cluster, result.role}));
  result.host_id = std::string(inserted.GetValue(0, 0));

  // The password is on disk before the role can be used, so a crash never leaves a role
  // nobody knows the password of.
  OWSYNC_RETURN_IF_ERROR(WriteFileAtomically(fs_, req.password_file, password + "\n")
                             .WithContext("writing the password file"));
  auto committed = exec("COMMIT", {});
  if (!committed.ok()) {
    if (!shipper::SqlStateOf(committed.status()).empty()) {
      auto removed = fs_->DeleteFile(req.password_file);
      (void)removed;
      return committed.status().WithContext("committing (nothing was changed)");
    }
    return committed.status().WithContext(
        "committing: the outcome is unknown; the password file was kept, check whether role " +
        result.role + " exists");
  }
  if (logger_) {
    logger_->Info("registered host {} (cluster {}) with role {}", req.name, result.cluster,
                  result.role);
  }
  return result;
}

Result<SchemaCheckReport> DbAdmin::Check(const std::string& url) {
  OWSYNC_ASSIGN_OR_RETURN(
      PgConnection conn, PgConnection::Connect(clock_, url, Deadline::After(clock_, kConnectMicros),
                                               {.logger = logger_}));
  return SchemaChecker::Run(&conn, Deadline::After(clock_, kStatementMicros));
}

}  // namespace owsync::cli
