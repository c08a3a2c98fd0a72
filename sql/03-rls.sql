-- owsync: row-level security isolating hosts in sync_metadata. A host sees and changes only
-- its own rows: its hosts row, its deployments and everything of their tenants (offsets, jobs,
-- progress, conflicts, dead letters), its cache events, and the lease of its cluster.
--
-- Identity is the login role: current_user -> hosts.db_role -> host_id / cluster_name. No
-- policy reads current_setting(), so no session variable a host sets changes what it sees;
-- SET ROLE sync_service maps to no host and sees nothing. The helpers are SECURITY DEFINER
-- (they read hosts past its own policy), STABLE, with a pinned search_path, and answer only
-- for a role the session's login role is a member of. Views are security_invoker
-- (01-init-sync-schema.sql), so these policies apply through them too. The administrator owns
-- the tables and bypasses the policies (no FORCE). Idempotent.

CREATE OR REPLACE FUNCTION sync_metadata.host_id_for_role(p_role name) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT h.host_id FROM sync_metadata.hosts h
   WHERE h.db_role = p_role
     AND pg_catalog.pg_has_role(session_user, p_role, 'MEMBER')
$$;

CREATE OR REPLACE FUNCTION sync_metadata.cluster_for_role(p_role name) RETURNS varchar
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT h.cluster_name FROM sync_metadata.hosts h
   WHERE h.db_role = p_role
     AND pg_catalog.pg_has_role(session_user, p_role, 'MEMBER')
$$;

REVOKE ALL ON FUNCTION sync_metadata.host_id_for_role(name) FROM PUBLIC;
REVOKE ALL ON FUNCTION sync_metadata.cluster_for_role(name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sync_metadata.host_id_for_role(name) TO sync_service;
GRANT EXECUTE ON FUNCTION sync_metadata.cluster_for_role(name) TO sync_service;

ALTER TABLE sync_metadata.hosts ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_metadata.client_deployments ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_metadata.leader_election ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_metadata.tenant_offsets ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_metadata.conflict_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_metadata.sync_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_metadata.sync_progress ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_metadata.cache_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_metadata.dead_letters ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_metadata.drift_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_metadata.cluster_nodes ENABLE ROW LEVEL SECURITY;

-- hosts: its own row; it cannot take another role's row or give its row away.
DROP POLICY IF EXISTS hosts_own_select ON sync_metadata.hosts;
CREATE POLICY hosts_own_select ON sync_metadata.hosts FOR SELECT
  USING (db_role = current_user);
DROP POLICY IF EXISTS hosts_own_update ON sync_metadata.hosts;
CREATE POLICY hosts_own_update ON sync_metadata.hosts FOR UPDATE
  USING (db_role = current_user)
  WITH CHECK (db_role = current_user);

-- client_deployments: a host reads and updates the rows of its tenants. Registering a tenant is
-- the administrator's (`owsync provision`): no INSERT policy, so a host cannot squat client
-- names it does not serve (and the runtime has no INSERT privilege on it either).
DROP POLICY IF EXISTS client_deployments_own ON sync_metadata.client_deployments;
DROP POLICY IF EXISTS client_deployments_own_select ON sync_metadata.client_deployments;
CREATE POLICY client_deployments_own_select ON sync_metadata.client_deployments FOR SELECT
  USING (host_id = sync_metadata.host_id_for_role(current_user));
DROP POLICY IF EXISTS client_deployments_own_update ON sync_metadata.client_deployments;
CREATE POLICY client_deployments_own_update ON sync_metadata.client_deployments FOR UPDATE
  USING (host_id = sync_metadata.host_id_for_role(current_user))
  WITH CHECK (host_id = sync_metadata.host_id_for_role(current_user));

-- cache_events: rows of its host.

DROP POLICY IF EXISTS cache_events_own ON sync_metadata.cache_events;
CREATE POLICY cache_events_own ON sync_metadata.cache_events FOR ALL
  USING (host_id = sync_metadata.host_id_for_role(current_user))
  WITH CHECK (host_id = sync_metadata.host_id_for_role(current_user));

-- leader_election: the lease of its cluster, naming itself (or nobody) as the holder.
DROP POLICY IF EXISTS leader_election_own_cluster ON sync_metadata.leader_election;
CREATE POLICY leader_election_own_cluster ON sync_metadata.leader_election FOR ALL
  USING (cluster_name = sync_metadata.cluster_for_role(current_user))
  WITH CHECK (cluster_name = sync_metadata.cluster_for_role(current_user)
              AND (leader_host_id IS NULL
                   OR leader_host_id = sync_metadata.host_id_for_role(current_user)));

-- cluster_nodes: the nodes of its cluster; it writes only rows naming its own host.
DROP POLICY IF EXISTS cluster_nodes_own_cluster ON sync_metadata.cluster_nodes;
CREATE POLICY cluster_nodes_own_cluster ON sync_metadata.cluster_nodes FOR ALL
  USING (cluster_name = sync_metadata.cluster_for_role(current_user))
  WITH CHECK (cluster_name = sync_metadata.cluster_for_role(current_user)
              AND host_id = sync_metadata.host_id_for_role(current_user));

-- Per-tenant tables: rows of a tenant deployed on its host (and, when the row names a
-- deployment, that very deployment).
DROP POLICY IF EXISTS tenant_offsets_own ON sync_metadata.tenant_offsets;
CREATE POLICY tenant_offsets_own ON sync_metadata.tenant_offsets FOR ALL
  USING (EXISTS (SELECT 1 FROM sync_metadata.client_deployments d
                  WHERE d.client_name = tenant_offsets.client_name
                    AND d.host_id = sync_metadata.host_id_for_role(current_user)
                    AND (tenant_offsets.deployment_id IS NULL
                         OR tenant_offsets.deployment_id = d.deployment_id)))
  WITH CHECK (EXISTS (SELECT 1 FROM sync_metadata.client_deployments d
                       WHERE d.client_name = tenant_offsets.client_name
                         AND d.host_id = sync_metadata.host_id_for_role(current_user)
                         AND (tenant_offsets.deployment_id IS NULL
                              OR tenant_offsets.deployment_id = d.deployment_id)));

DROP POLICY IF EXISTS conflict_log_own ON sync_metadata.conflict_log;
CREATE POLICY conflict_log_own ON sync_metadata.conflict_log FOR ALL
  USING (EXISTS (SELECT 1 FROM sync_metadata.client_deployments d
                  WHERE d.client_name = conflict_log.client_name
                    AND d.host_id = sync_metadata.host_id_for_role(current_user)
                    AND (conflict_log.deployment_id IS NULL
                         OR conflict_log.deployment_id = d.deployment_id)))
  WITH CHECK (EXISTS (SELECT 1 FROM sync_metadata.client_deployments d
                       WHERE d.client_name = conflict_log.client_name
                         AND d.host_id = sync_metadata.host_id_for_role(current_user)
                         AND (conflict_log.deployment_id IS NULL
                              OR conflict_log.deployment_id = d.deployment_id)));

DROP POLICY IF EXISTS sync_jobs_own ON sync_metadata.sync_jobs;
CREATE POLICY sync_jobs_own ON sync_metadata.sync_jobs FOR ALL
  USING (EXISTS (SELECT 1 FROM sync_metadata.client_deployments d
                  WHERE d.client_name = sync_jobs.client_name
                    AND d.host_id = sync_metadata.host_id_for_role(current_user)
                    AND (sync_jobs.deployment_id IS NULL
                         OR sync_jobs.deployment_id = d.deployment_id)))
  WITH CHECK (EXISTS (SELECT 1 FROM sync_metadata.client_deployments d
                       WHERE d.client_name = sync_jobs.client_name
                         AND d.host_id = sync_metadata.host_id_for_role(current_user)
                         AND (sync_jobs.deployment_id IS NULL
                              OR sync_jobs.deployment_id = d.deployment_id)));

DROP POLICY IF EXISTS dead_letters_own ON sync_metadata.dead_letters;
CREATE POLICY dead_letters_own ON sync_metadata.dead_letters FOR ALL
  USING (EXISTS (SELECT 1 FROM sync_metadata.client_deployments d
                  WHERE d.client_name = dead_letters.client_name
                    AND d.host_id = sync_metadata.host_id_for_role(current_user)
                    AND (dead_letters.deployment_id IS NULL
                         OR dead_letters.deployment_id = d.deployment_id)))
  WITH CHECK (EXISTS (SELECT 1 FROM sync_metadata.client_deployments d
                       WHERE d.client_name = dead_letters.client_name
                         AND d.host_id = sync_metadata.host_id_for_role(current_user)
                         AND (dead_letters.deployment_id IS NULL
                              OR dead_letters.deployment_id = d.deployment_id)));

DROP POLICY IF EXISTS drift_log_own ON sync_metadata.drift_log;
CREATE POLICY drift_log_own ON sync_metadata.drift_log FOR ALL
  USING (EXISTS (SELECT 1 FROM sync_metadata.client_deployments d
                  WHERE d.client_name = drift_log.client_name
                    AND d.host_id = sync_metadata.host_id_for_role(current_user)
                    AND (drift_log.deployment_id IS NULL
                         OR drift_log.deployment_id = d.deployment_id)))
  WITH CHECK (EXISTS (SELECT 1 FROM sync_metadata.client_deployments d
                       WHERE d.client_name = drift_log.client_name
                         AND d.host_id = sync_metadata.host_id_for_role(current_user)
                         AND (drift_log.deployment_id IS NULL
                              OR drift_log.deployment_id = d.deployment_id)));

-- sync_progress: progress of a job it can see (sync_jobs' policy applies inside).
DROP POLICY IF EXISTS sync_progress_own ON sync_metadata.sync_progress;
CREATE POLICY sync_progress_own ON sync_metadata.sync_progress FOR ALL
  USING (EXISTS (SELECT 1 FROM sync_metadata.sync_jobs j WHERE j.job_id = sync_progress.job_id))
  WITH CHECK (EXISTS (SELECT 1 FROM sync_metadata.sync_jobs j
                       WHERE j.job_id = sync_progress.job_id));
