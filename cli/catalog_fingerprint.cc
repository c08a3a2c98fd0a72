#include "cli/catalog_fingerprint.h"

namespace owsync::cli {
namespace {

constexpr const char* kFingerprintSql = R"sql(
WITH s AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'sync_metadata'),
     rel AS (SELECT c.* FROM pg_catalog.pg_class c JOIN s ON c.relnamespace = s.oid)
SELECT 'schema ' || n.nspname,
       concat_ws(' | ', pg_catalog.pg_get_userbyid(n.nspowner), n.nspacl::text)
  FROM pg_catalog.pg_namespace n WHERE n.nspname IN ('sync_metadata', 'public')
UNION ALL
SELECT CASE c.relkind WHEN 'r' THEN 'table ' WHEN 'v' THEN 'view ' WHEN 'S' THEN 'sequence '
                      WHEN 'i' THEN 'index ' ELSE 'relation ' END
         || 'sync_metadata.' || c.relname,
       concat_ws(' | ', pg_catalog.pg_get_userbyid(c.relowner), c.relacl::text,
                 c.reloptions::text, c.relrowsecurity, c.relforcerowsecurity,
                 CASE c.relkind WHEN 'v' THEN pg_catalog.pg_get_viewdef(c.oid)
                                WHEN 'i' THEN pg_catalog.pg_get_indexdef(c.oid) END)
  FROM rel c WHERE c.relkind IN ('r', 'v', 'S', 'i', 'p', 'm', 'f')
UNION ALL
SELECT 'column sync_metadata.' || c.relname || '.' || a.attname,
       concat_ws(' | ', pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
                 pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attacl::text)
  FROM rel c
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relkind IN ('r', 'v')
UNION ALL
SELECT 'constraint sync_metadata.' || c.relname || '.' || k.conname,
       pg_catalog.pg_get_constraintdef(k.oid)
  FROM rel c JOIN pg_catalog.pg_constraint k ON k.conrelid = c.oid
UNION ALL
SELECT 'trigger sync_metadata.' || c.relname || '.' || t.tgname,
       pg_catalog.pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text
  FROM rel c JOIN pg_catalog.pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
UNION ALL
SELECT 'policy sync_metadata.' || c.relname || '.' || p.polname,
       concat_ws(' | ', p.polcmd, p.polpermissive, p.polroles::regrole[]::text,
                 pg_catalog.pg_get_expr(p.polqual, p.polrelid),
                 pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
  FROM rel c JOIN pg_catalog.pg_policy p ON p.polrelid = c.oid
UNION ALL
SELECT 'function ' || p.oid::regprocedure::text,
       concat_ws(' | ', pg_catalog.pg_get_userbyid(p.proowner), p.proacl::text,
                 pg_catalog.pg_get_functiondef(p.oid))
  FROM pg_catalog.pg_proc p JOIN s ON p.pronamespace = s.oid
UNION ALL
SELECT 'sequence-parameters sync_metadata.' || c.relname,
       concat_ws(' ', q.seqtypid::regtype::text, q.seqstart, q.seqincrement, q.seqmax,
                 q.seqmin, q.seqcache, q.seqcycle)
  FROM rel c JOIN pg_catalog.pg_sequence q ON q.seqrelid = c.oid
UNION ALL
SELECT 'role ' || r.rolname,
       concat_ws(' ', r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
                 r.rolreplication, r.rolbypassrls, r.rolconnlimit)
  FROM pg_catalog.pg_roles r WHERE r.rolname = 'sync_service'
UNION ALL
SELECT 'role-membership ' || m.roleid::regrole::text || ' -> ' || m.member::regrole::text,
       concat_ws(' ', m.admin_option, m.grantor::regrole::text)
  FROM pg_catalog.pg_auth_members m
 WHERE m.member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'sync_service')
UNION ALL
SELECT 'database ' || d.datname, coalesce(d.datacl::text, '')
  FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()
ORDER BY 1
)sql";

}  // namespace

Result<CatalogFingerprint> ReadCatalogFingerprint(shipper::PgConnection* conn,
                                                  shipper::Deadline deadline) {
  OWSYNC_ASSIGN_OR_RETURN(shipper::PgResult res, conn->Exec(kFingerprintSql, deadline));
  CatalogFingerprint fp;
  for (int r = 0; r < res.rows(); ++r) {
    fp[std::string(res.GetValue(r, 0))] = std::string(res.GetValue(r, 1));
  }
  return fp;
}

std::vector<std::string> DiffFingerprints(const CatalogFingerprint& before,
                                          const CatalogFingerprint& after) {
  std::vector<std::string> out;
  for (const auto& [key, def] : after) {
    auto it = before.find(key);
    if (it == before.end()) {
      out.push_back("created " + key);
    } else if (it->second != def) {
      out.push_back("changed " + key);
    }
  }
  for (const auto& [key, def] : before) {
    if (after.find(key) == after.end()) out.push_back("removed " + key);
  }
  return out;
}

}  // namespace owsync::cli
