-- owsync: the sync_metadata schema: the seven tables and three views operators already have
-- (same names and columns, see reference/sync_metadata.md), plus what owsync needs: the leader
-- epoch sequence (fencing tokens), server-side lease expiry, per-tenant offset rows, dead
-- letters, and the login role of each host.
--
-- Idempotent: every statement creates only what is missing (IF NOT EXISTS, CREATE OR REPLACE).
-- `owsync db init` runs this file, 02-roles.sql and 03-rls.sql in one transaction and rolls
-- it back when the catalog did not change. Run as the administrator: it owns every object.

CREATE SCHEMA IF NOT EXISTS sync_metadata;
COMMENT ON SCHEMA sync_metadata IS 'owsync: shared state of the sync cluster';

-- Fencing tokens: every lease acquisition and every tenant claim takes a new value, so epochs
-- stay comparable across clusters and when a lease row is recreated.
CREATE SEQUENCE IF NOT EXISTS sync_metadata.leader_epoch_seq AS bigint START WITH 1;

-- hosts -------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS sync_metadata.hosts (
  host_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  hostname varchar(255) NOT NULL,
  ip_address inet,
  cluster_name varchar(100) NOT NULL,
  status varchar(20) DEFAULT 'active' CHECK (status IN ('active', 'maintenance', 'offline')),
  last_heartbeat timestamp DEFAULT NOW(),
  created_at timestamp DEFAULT NOW(),
  updated_at timestamp DEFAULT NOW(),
  metadata jsonb DEFAULT '{}',
  UNIQUE (hostname, cluster_name)
);
-- The PostgreSQL login role the host's shipper uses; row-level security maps current_user to
-- the host through it. NULL for hosts registered before owsync (they see nothing).
ALTER TABLE sync_metadata.hosts ADD COLUMN IF NOT EXISTS db_role name;
CREATE UNIQUE INDEX IF NOT EXISTS hosts_db_role_key ON sync_metadata.hosts (db_role);
CREATE INDEX IF NOT EXISTS idx_hosts_cluster_name ON sync_metadata.hosts (cluster_name);
CREATE INDEX IF NOT EXISTS idx_hosts_last_heartbeat ON sync_metadata.hosts (last_heartbeat);
CREATE INDEX IF NOT EXISTS idx_hosts_active ON sync_metadata.hosts (cluster_name)
  WHERE status = 'active';

-- client_deployments ------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS sync_metadata.client_deployments (
  deployment_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  host_id uuid REFERENCES sync_metadata.hosts (host_id) ON DELETE CASCADE,
  client_name varchar(100) NOT NULL UNIQUE,
  container_name varchar(255) NOT NULL UNIQUE,
  fqdn varchar(255),
  port integer,
  database_type varchar(20) DEFAULT 'sqlite' CHECK (database_type IN ('sqlite', 'postgresql')),
  sync_enabled boolean DEFAULT false,
  sync_interval integer DEFAULT 300,  -- seconds
  last_sync_at timestamp,
  last_sync_status varchar(20)
    CHECK (last_sync_status IN ('success', 'failed', 'running', 'pending')),
  next_sync_at timestamp,
  status varchar(20) DEFAULT 'active'
    CHECK (status IN ('active', 'paused', 'migrating', 'stopped')),
  created_at timestamp DEFAULT NOW(),
  updated_at timestamp DEFAULT NOW(),
  config jsonb DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS idx_client_deployments_host_id
  ON sync_metadata.client_deployments (host_id);

-- leader_election ---------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS sync_metadata.leader_election (
  cluster_name varchar(100) PRIMARY KEY,
  leader_id varchar(100) NOT NULL,
  leader_host_id uuid REFERENCES sync_metadata.hosts (host_id) ON DELETE CASCADE,
  acquired_at timestamp NOT NULL DEFAULT NOW(),
  expires_at timestamp NOT NULL,
  heartbeat_count integer DEFAULT 0,
  CHECK (expires_at > acquired_at)
);
-- owsync's lease: the epoch of the current holder (from leader_epoch_seq) and its expiry as
-- timestamptz, always compared with the server's now(). expires_at is kept for dashboards.
ALTER TABLE sync_metadata.leader_election
  ADD COLUMN IF NOT EXISTS epoch bigint NOT NULL
    DEFAULT nextval('sync_metadata.leader_epoch_seq');
ALTER TABLE sync_metadata.leader_election
  ADD COLUMN IF NOT EXISTS lease_expires_at timestamptz NOT NULL DEFAULT '-infinity';
-- The fast path of the election: the backend pid of the leader's session that holds the
-- cluster's advisory lock (NULL while it holds none, or when its fast path is off). A follower
-- that finds no granted advisory lock of that backend in pg_locks knows the leader's session is
-- gone and takes the lease at once (shipper/lease.h).
ALTER TABLE sync_metadata.leader_election
  ADD COLUMN IF NOT EXISTS lock_pid integer;

-- cluster_nodes (owsync) --------------------------------------------------------------------
-- One row per node of an HA pair (by its ROLE label), written by the node itself every
-- heartbeat: what `GET /api/v1/cluster/status` and `owsync status` show, and where a follower
-- finds the leader's API address. Rows are updated in place (the runtime role cannot delete).
CREATE TABLE IF NOT EXISTS sync_metadata.cluster_nodes (
  cluster_name varchar(100) NOT NULL,
  node_role varchar(20) NOT NULL,
  node_id varchar(100) NOT NULL,
  host_id uuid REFERENCES sync_metadata.hosts (host_id) ON DELETE CASCADE,
  api_address text,
  is_leader boolean NOT NULL DEFAULT false,
  epoch bigint,
  started_at timestamptz NOT NULL DEFAULT now(),
  last_heartbeat timestamptz NOT NULL DEFAULT now(),
  status varchar(20) NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'stopped')),
  details jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (cluster_name, node_role)
);

-- conflict_log ------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS sync_metadata.conflict_log (
  log_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  deployment_id uuid REFERENCES sync_metadata.client_deployments (deployment_id)
    ON DELETE CASCADE,
  client_name varchar(100) NOT NULL,
  table_name varchar(100) NOT NULL,
  record_id text,
  conflict_type varchar(50) NOT NULL
    CHECK (conflict_type IN ('update_conflict', 'delete_conflict', 'constraint_violation',
                             'type_mismatch', 'custom')),
  source_data jsonb,
  target_data jsonb,
  resolution_strategy varchar(50)
    CHECK (resolution_strategy IN ('newest_wins', 'source_wins', 'target_wins', 'merge',
                                   'manual')),
  resolved_data jsonb,
  detected_at timestamp DEFAULT NOW(),
  resolved_at timestamp,
  resolved_by varchar(100),
  resolution_notes text,
  sync_job_id uuid
);
-- record_id holds the whole record key (shipper/record_key.h); keys are user-chosen in Open
-- WebUI and may be longer than the operators' varchar(255), which would cut them.
DO $$
BEGIN
  IF (SELECT data_type FROM information_schema.columns WHERE table_schema = 'sync_metadata'
        AND table_name = 'conflict_log' AND column_name = 'record_id') <> 'text' THEN
    DROP VIEW IF EXISTS sync_metadata.v_recent_conflicts;
    ALTER TABLE sync_metadata.conflict_log ALTER COLUMN record_id TYPE text;
  END IF;
END $$;
CREATE INDEX IF NOT EXISTS idx_conflict_log_client_detected
  ON sync_metadata.conflict_log (client_name, detected_at DESC);
CREATE INDEX IF NOT EXISTS idx_conflict_log_unresolved
  ON sync_metadata.conflict_log (detected_at) WHERE resolved_at IS NULL;

-- cache_events ------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS sync_metadata.cache_events (
  event_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  host_id uuid REFERENCES sync_metadata.hosts (host_id) ON DELETE CASCADE,
  cache_key varchar(255) NOT NULL,
  action varchar(20) NOT NULL CHECK (action IN ('invalidate', 'refresh', 'delete')),
  created_at timestamp DEFAULT NOW(),
  processed_at timestamp,
  processed_by varchar(100),
  CHECK (processed_at >= created_at)
);
CREATE INDEX IF NOT EXISTS idx_cache_events_pending
  ON sync_metadata.cache_events (host_id, created_at) WHERE processed_at IS NULL;

-- sync_jobs ---------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS sync_metadata.sync_jobs (
  job_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  deployment_id uuid REFERENCES sync_metadata.client_deployments (deployment_id)
    ON DELETE CASCADE,
  client_name varchar(100) NOT NULL,
  started_at timestamp DEFAULT NOW(),
  completed_at timestamp,
  status varchar(20) DEFAULT 'running'
    CHECK (status IN ('running', 'success', 'failed', 'cancelled')),
  tables_synced integer DEFAULT 0,
  tables_total integer DEFAULT 0,
  rows_synced integer DEFAULT 0,
  rows_failed integer DEFAULT 0,
  duration_seconds numeric(10, 2),
  bytes_transferred bigint DEFAULT 0,
  error_message text,
  error_details jsonb,
  conflicts_detected integer DEFAULT 0,
  conflicts_resolved integer DEFAULT 0,
  triggered_by varchar(100),
  sync_type varchar(20) DEFAULT 'incremental' CHECK (sync_type IN ('full', 'incremental', 'manual')),
  metadata jsonb DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS idx_sync_jobs_client_started
  ON sync_metadata.sync_jobs (client_name, started_at DESC);
CREATE INDEX IF NOT EXISTS idx_sync_jobs_running
  ON sync_metadata.sync_jobs (started_at) WHERE status = 'running';

-- sync_progress -----------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS sync_metadata.sync_progress (
  progress_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  job_id uuid REFERENCES sync_metadata.sync_jobs (job_id) ON DELETE CASCADE,
  table_name varchar(100) NOT NULL,
  rows_total integer DEFAULT 0,
  rows_processed integer DEFAULT 0,
  rows_failed integer DEFAULT 0,
  started_at timestamp DEFAULT NOW(),
  updated_at timestamp DEFAULT NOW(),
  completed_at timestamp,
  status varchar(20) DEFAULT 'running' CHECK (status IN ('running', 'success', 'failed')),
  error_message text,
  UNIQUE (job_id, table_name)
);

-- tenant_offsets (owsync) -------------------------------------------------------------------
-- One row per tenant: everything up to acked_offset (inclusive) of outbox outbox_id is in
-- PostgreSQL. Offsets start at 1, so 0 means nothing acknowledged yet. acked_epoch is the
-- epoch of the leader that last claimed the tenant; a shipping transaction raises it under
-- the row lock and fails when a newer leader already did (fencing).
CREATE TABLE IF NOT EXISTS sync_metadata.tenant_offsets (
  client_name varchar(100) PRIMARY KEY,
  deployment_id uuid REFERENCES sync_metadata.client_deployments (deployment_id)
    ON DELETE CASCADE,
  outbox_id text,
  acked_offset bigint NOT NULL DEFAULT 0 CHECK (acked_offset >= 0),
  acked_epoch bigint NOT NULL DEFAULT 0 CHECK (acked_epoch >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Incremented by `owsync provision` (create or --migrate) whenever it changed the tenant's
-- tables, under this row's lock: the shipper re-reads its target columns when it changes.
ALTER TABLE sync_metadata.tenant_offsets
  ADD COLUMN IF NOT EXISTS schema_version bigint NOT NULL DEFAULT 0;
-- The fingerprint (xxh3-64, 16 hex digits) of the record at acked_offset: a shipper that
-- resumes checks that the outbox still holds that very record there (an outbox restored from
-- an older copy together with its database would otherwise be resumed past what it holds).
-- NULL: not known (before the first batch, after a rebase).
ALTER TABLE sync_metadata.tenant_offsets ADD COLUMN IF NOT EXISTS acked_fingerprint text;
-- In-stream verification (docs/divergence.md): key ranges compared so far, and when the last
-- one was; drift found is in drift_log.
ALTER TABLE sync_metadata.tenant_offsets
  ADD COLUMN IF NOT EXISTS verified_ranges bigint NOT NULL DEFAULT 0;
ALTER TABLE sync_metadata.tenant_offsets ADD COLUMN IF NOT EXISTS verified_at timestamptz;

-- dead_letters (owsync) ---------------------------------------------------------------------
-- A record PostgreSQL could not take: kept byte for byte (the outbox encoding) with the reason,
-- so nothing is silently dropped and it can be retried after a fix.
CREATE TABLE IF NOT EXISTS sync_metadata.dead_letters (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  client_name varchar(100) NOT NULL,
  deployment_id uuid REFERENCES sync_metadata.client_deployments (deployment_id)
    ON DELETE CASCADE,
  table_name text NOT NULL,
  record_key text,
  outbox_id text,
  outbox_offset bigint NOT NULL,
  raw_record bytea NOT NULL,
  reason text NOT NULL,
  sqlstate varchar(5),
  created_at timestamptz NOT NULL DEFAULT now(),
  retried_at timestamptz,
  retry_count integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_dead_letters_client_created
  ON sync_metadata.dead_letters (client_name, created_at);
CREATE INDEX IF NOT EXISTS idx_dead_letters_client_offset
  ON sync_metadata.dead_letters (client_name, outbox_offset);
-- Finds a row's dead letters (a snapshot's end never tombstones a row whose image is one). The
-- key itself may be longer than a btree entry holds: its md5 is indexed.
CREATE INDEX IF NOT EXISTS idx_dead_letters_key
  ON sync_metadata.dead_letters (client_name, table_name, md5(record_key));

-- drift_log (owsync) ------------------------------------------------------------------------
-- In-stream verification: a key range of a tenant table where PostgreSQL was found to differ
-- from what capture read of SQLite at that point of the outbox (docs/divergence.md). The rows
-- are sent again through the outbox (repaired); a later pass over the range finds them equal.
CREATE TABLE IF NOT EXISTS sync_metadata.drift_log (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  client_name varchar(100) NOT NULL,
  deployment_id uuid REFERENCES sync_metadata.client_deployments (deployment_id)
    ON DELETE CASCADE,
  table_name text NOT NULL,
  outbox_id text,
  outbox_offset bigint NOT NULL,
  key_range text NOT NULL,
  rows_compared integer NOT NULL,
  missing integer NOT NULL,
  different integer NOT NULL,
  extra integer NOT NULL,
  record_keys text[] NOT NULL DEFAULT '{}',
  found_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_drift_log_client_found
  ON sync_metadata.drift_log (client_name, found_at);

-- Triggers ----------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION sync_metadata.set_updated_at() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

-- A job that leaves 'running' gets completed_at and duration_seconds.
CREATE OR REPLACE FUNCTION sync_metadata.finish_sync_job() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM 'running' AND OLD.status = 'running' THEN
    NEW.completed_at := COALESCE(NEW.completed_at, LOCALTIMESTAMP);
    NEW.duration_seconds :=
      round(EXTRACT(EPOCH FROM (NEW.completed_at - NEW.started_at))::numeric, 2);
  END IF;
  RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER trg_hosts_updated_at BEFORE UPDATE ON sync_metadata.hosts
  FOR EACH ROW EXECUTE FUNCTION sync_metadata.set_updated_at();
CREATE OR REPLACE TRIGGER trg_client_deployments_updated_at
  BEFORE UPDATE ON sync_metadata.client_deployments
  FOR EACH ROW EXECUTE FUNCTION sync_metadata.set_updated_at();
CREATE OR REPLACE TRIGGER trg_sync_progress_updated_at BEFORE UPDATE ON sync_metadata.sync_progress
  FOR EACH ROW EXECUTE FUNCTION sync_metadata.set_updated_at();
CREATE OR REPLACE TRIGGER trg_tenant_offsets_updated_at
  BEFORE UPDATE ON sync_metadata.tenant_offsets
  FOR EACH ROW EXECUTE FUNCTION sync_metadata.set_updated_at();
CREATE OR REPLACE TRIGGER trg_sync_jobs_finish BEFORE UPDATE ON sync_metadata.sync_jobs
  FOR EACH ROW EXECUTE FUNCTION sync_metadata.finish_sync_job();

-- Views: security_invoker, so row-level security applies to whoever reads them (a plain view
-- runs as its owner and would show every host's rows). ----------------------------------------
CREATE OR REPLACE VIEW sync_metadata.v_active_sync_jobs WITH (security_invoker = true) AS
SELECT j.job_id,
       j.deployment_id,
       j.client_name,
       j.sync_type,
       j.triggered_by,
       j.started_at,
       j.tables_synced,
       j.tables_total,
       j.rows_synced,
       j.rows_failed,
       CASE WHEN COALESCE(j.tables_total, 0) > 0
            THEN round(100.0 * COALESCE(j.tables_synced, 0) / j.tables_total, 2)
            ELSE 0::numeric END AS percent_complete,
       round(EXTRACT(EPOCH FROM (LOCALTIMESTAMP - j.started_at))::numeric, 2) AS runtime_seconds
  FROM sync_metadata.sync_jobs j
 WHERE j.status = 'running';

CREATE OR REPLACE VIEW sync_metadata.v_recent_conflicts WITH (security_invoker = true) AS
SELECT c.log_id,
       c.deployment_id,
       c.client_name,
       c.table_name,
       c.record_id,
       c.conflict_type,
       c.resolution_strategy,
       c.detected_at,
       c.resolved_at,
       c.resolved_by,
       c.sync_job_id,
       round(EXTRACT(EPOCH FROM (c.resolved_at - c.detected_at))::numeric, 2)
         AS resolution_time_seconds,
       CASE WHEN c.resolved_at IS NULL THEN 'unresolved'
            WHEN c.resolution_strategy = 'manual' THEN 'manually-resolved'
            ELSE 'auto-resolved' END AS resolution_type
  FROM sync_metadata.conflict_log c
 WHERE c.detected_at > LOCALTIMESTAMP - interval '24 hours';

CREATE OR REPLACE VIEW sync_metadata.v_cluster_health WITH (security_invoker = true) AS
SELECT h.host_id,
       h.cluster_name,
       h.hostname,
       h.status,
       round(EXTRACT(EPOCH FROM (LOCALTIMESTAMP - h.last_heartbeat))::numeric, 1)
         AS seconds_since_heartbeat,
       le.leader_id,
       le.epoch AS leader_epoch,
       CASE WHEN le.leader_host_id = h.host_id AND le.lease_expires_at > now()
            THEN 'leader' ELSE 'follower' END AS node_role,
       le.lease_expires_at,
       (SELECT count(*) FROM sync_metadata.client_deployments d
         WHERE d.host_id = h.host_id) AS deployments,
       (SELECT count(*) FROM sync_metadata.client_deployments d
         WHERE d.host_id = h.host_id AND d.sync_enabled) AS sync_enabled_deployments
  FROM sync_metadata.hosts h
  LEFT JOIN sync_metadata.leader_election le ON le.cluster_name = h.cluster_name;
