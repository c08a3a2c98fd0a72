-- owsync: the runtime group role. Every host logs in with its own role (created by
-- `owsync db add-host`), a member of sync_service that inherits exactly these privileges:
-- SELECT, INSERT, UPDATE on sync_metadata (hosts: SELECT and UPDATE of its status columns
-- only), USAGE of the schema and the epoch sequence, EXECUTE of the row-level-security
-- helpers, and TEMPORARY on the database (staging tables). Nothing else: no DELETE (rows are
-- tombstoned), TRUNCATE, REFERENCES, TRIGGER, no CREATE in any schema, no ownership.
-- Idempotent; run after 01-init-sync-schema.sql, as the administrator.

DO $$
DECLARE
  r record;
BEGIN
  SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname = 'sync_service';
  IF NOT FOUND THEN
    BEGIN
      CREATE ROLE sync_service NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT
        NOREPLICATION NOBYPASSRLS;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      -- Roles are cluster-wide: `db init` of another database created it meanwhile.
      NULL;
    END;
  ELSE
    IF r.rolcanlogin THEN
      RAISE NOTICE 'sync_service could log in; it is a group role now (NOLOGIN): hosts log '
                   'in with their own roles (owsync db add-host)';
      ALTER ROLE sync_service NOLOGIN;
    END IF;
    IF r.rolsuper OR r.rolcreatedb OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls THEN
      RAISE EXCEPTION 'role sync_service holds SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or '
                      'BYPASSRLS; remove them (ALTER ROLE sync_service NOSUPERUSER ...) and rerun';
    END IF;
  END IF;
END
$$;

-- Nobody but the owner creates objects in public (PostgreSQL 15 already defaults to this).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

REVOKE ALL ON SCHEMA sync_metadata FROM PUBLIC;
REVOKE ALL ON SCHEMA sync_metadata FROM sync_service;
GRANT USAGE ON SCHEMA sync_metadata TO sync_service;

-- Start from nothing, then grant exactly what the runtime needs.
REVOKE ALL ON ALL TABLES IN SCHEMA sync_metadata FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA sync_metadata FROM sync_service;
-- client_deployments: read and update (last sync, config) only; tenants are registered by the
-- administrator (`owsync provision`).
GRANT SELECT, UPDATE ON sync_metadata.client_deployments TO sync_service;
GRANT SELECT, INSERT, UPDATE ON
  sync_metadata.leader_election,
  sync_metadata.conflict_log,
  sync_metadata.cache_events,
  sync_metadata.sync_jobs,
  sync_metadata.sync_progress,
  sync_metadata.tenant_offsets,
  sync_metadata.dead_letters,
  sync_metadata.drift_log,
  sync_metadata.cluster_nodes
  TO sync_service;
-- A host registers through the administrator (db add-host) and may then only report its own
-- state: not its name, cluster or role (which decide what it may see).
GRANT SELECT ON sync_metadata.hosts TO sync_service;
GRANT UPDATE (ip_address, status, last_heartbeat, metadata) ON sync_metadata.hosts
  TO sync_service;
GRANT SELECT ON
  sync_metadata.v_active_sync_jobs,
  sync_metadata.v_recent_conflicts,
  sync_metadata.v_cluster_health
  TO sync_service;

-- Host roles get everything through sync_service; privileges granted to one directly (by
-- hand) on sync_metadata are taken back.
DO $$
DECLARE
  m record;
BEGIN
  FOR m IN SELECT r.rolname FROM pg_catalog.pg_auth_members a
             JOIN pg_catalog.pg_roles r ON r.oid = a.member
            WHERE a.roleid = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'sync_service')
  LOOP
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA sync_metadata FROM %I', m.rolname);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA sync_metadata FROM %I', m.rolname);
    EXECUTE format('REVOKE ALL ON SCHEMA sync_metadata FROM %I', m.rolname);
  END LOOP;
END
$$;

REVOKE ALL ON ALL SEQUENCES IN SCHEMA sync_metadata FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA sync_metadata FROM sync_service;
GRANT USAGE ON SEQUENCE sync_metadata.leader_epoch_seq TO sync_service;

-- Staging tables (CREATE TEMPORARY TABLE ... ON COMMIT DROP) in this database.
DO $$
BEGIN
  EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO sync_service', current_database());
END
$$;
