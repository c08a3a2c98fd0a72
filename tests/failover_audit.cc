#include "tests/failover_audit.h"

#include <cstdio>
#include <map>

namespace owsync::tests {
namespace {

using shipper::Deadline;

constexpr int64_t kStatementMicros = 60'000'000;

constexpr const char* kInstallSql = R"sql(
CREATE SCHEMA IF NOT EXISTS owsync_audit;
CREATE TABLE owsync_audit.offset_log (
  seq bigserial PRIMARY KEY, client text NOT NULL, epoch bigint, old_epoch bigint,
  old_acked bigint, new_acked bigint, at timestamptz NOT NULL, backend_pid integer,
  application_name text);
CREATE FUNCTION owsync_audit.note_offset() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  INSERT INTO owsync_audit.offset_log (client, epoch, old_epoch, old_acked, new_acked, at,
                                       backend_pid, application_name)
  VALUES (NEW.client_name, NEW.acked_epoch, OLD.acked_epoch, OLD.acked_offset,
          NEW.acked_offset, clock_timestamp(), pg_backend_pid(),
          current_setting('application_name'));
  RETURN NULL;
END $$;
-- Deferred: it runs as the transaction commits, so a rolled-back claim or batch leaves no row
-- and `at` is the commit's time.
CREATE CONSTRAINT TRIGGER zz_owsync_audit AFTER UPDATE ON sync_metadata.tenant_offsets
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION owsync_audit.note_offset();

CREATE TABLE owsync_audit.lease_log (
  seq bigserial PRIMARY KEY, cluster text NOT NULL, leader_id text, epoch bigint,
  old_epoch bigint, lease_expires_at timestamptz, lock_pid integer, at timestamptz NOT NULL);
CREATE FUNCTION owsync_audit.note_lease() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  INSERT INTO owsync_audit.lease_log (cluster, leader_id, epoch, old_epoch, lease_expires_at,
                                      lock_pid, at)
  VALUES (NEW.cluster_name, NEW.leader_id, NEW.epoch,
          CASE WHEN TG_OP = 'UPDATE' THEN OLD.epoch END, NEW.lease_expires_at, NEW.lock_pid,
          clock_timestamp());
  RETURN NULL;
END $$;
CREATE TRIGGER zz_owsync_audit AFTER INSERT OR UPDATE ON sync_metadata.leader_election
  FOR EACH ROW EXECUTE FUNCTION owsync_audit.note_lease();

CREATE TABLE owsync_audit.regressions (table_name text, old_offset bigint, new_offset bigint,
                                       old_row text, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION owsync_audit.note_regression() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  IF NEW._owsync_offset < OLD._owsync_offset THEN
    INSERT INTO owsync_audit.regressions (table_name, old_offset, new_offset, old_row)
    VALUES (TG_TABLE_NAME, OLD._owsync_offset, NEW._owsync_offset, left(OLD::text, 300));
  END IF;
  RETURN NEW;
END $$;
CREATE FUNCTION owsync_audit.install_detector(s text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE r record; n int := 0;
BEGIN
  FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = '_owsync_offset'
           WHERE ns.nspname = s AND c.relkind = 'r' LOOP
    EXECUTE format('CREATE TRIGGER zz_owsync_audit_regression BEFORE UPDATE ON %I.%I FOR EACH '
                   'ROW EXECUTE FUNCTION owsync_audit.note_regression()', s, r.relname);
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;
-- Lowers the offset of one row of schema s (inside a transaction that is rolled back): the
-- regressions then recorded, or -1 when no table has a row.
CREATE FUNCTION owsync_audit.prove_live(s text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE r record; n bigint;
BEGIN
  FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
           JOIN pg_trigger t ON t.tgrelid = c.oid AND t.tgname = 'zz_owsync_audit_regression'
           WHERE ns.nspname = s LOOP
    EXECUTE format('UPDATE %I.%I SET _owsync_offset = _owsync_offset - 1 WHERE ctid = '
                   '(SELECT ctid FROM %I.%I LIMIT 1)', s, r.relname, s, r.relname);
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN RETURN (SELECT count(*) FROM owsync_audit.regressions); END IF;
  END LOOP;
  RETURN -1;
END $$;
)sql";

int64_t ToInt(std::string_view text) { return text.empty() ? 0 : std::stoll(std::string(text)); }

std::string Seconds(int64_t micros) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f s", static_cast<double>(micros) / 1e6);
  return buf;
}

}  // namespace

FailoverAudit::FailoverAudit(Clock* clock, std::string admin_url)
    : clock_(clock), admin_url_(std::move(admin_url)) {}

Result<shipper::PgConnection*> FailoverAudit::Connection() {
  if (conn_.has_value() && !conn_->is_broken()) return &*conn_;
  conn_.reset();
  shipper::PgConnectOptions o;
  o.application_name = "owsync-test-audit";
  OWSYNC_ASSIGN_OR_RETURN(
      shipper::PgConnection conn,
      shipper::PgConnection::Connect(clock_, admin_url_, Deadline::After(clock_, 30'000'000), o));
  conn_.emplace(std::move(conn));
  return &*conn_;
}

Result<shipper::PgResult> FailoverAudit::Query(
    const std::string& sql, const std::vector<std::optional<std::string>>& params) {
  OWSYNC_ASSIGN_OR_RETURN(shipper::PgConnection * conn, Connection());
  Result<shipper::PgResult> res =
      params.empty() ? conn->Exec(sql, Deadline::After(clock_, kStatementMicros))
                     : conn->ExecParams(sql, params, Deadline::After(clock_, kStatementMicros));
  if (!res.ok()) conn_.reset();
  return res;
}

Status FailoverAudit::Install() { return Query(kInstallSql).status(); }

Result<int> FailoverAudit::InstallRegressionDetector(const std::string& client_schema) {
  OWSYNC_ASSIGN_OR_RETURN(shipper::PgResult res,
                          Query("SELECT owsync_audit.install_detector($1)", {client_schema}));
  return static_cast<int>(ToInt(res.GetValue(0, 0)));
}

Result<std::vector<OffsetLogRow>> FailoverAudit::OffsetLog(const std::string& client,
                                                           int64_t after_seq) {
  OWSYNC_ASSIGN_OR_RETURN(
      shipper::PgResult res,
      Query("SELECT seq, client, COALESCE(epoch, 0), COALESCE(old_epoch, 0), "
            "COALESCE(old_acked, 0), COALESCE(new_acked, 0), "
            "(extract(epoch FROM at) * 1000000)::bigint, COALESCE(backend_pid, 0), "
            "COALESCE(application_name, '') FROM owsync_audit.offset_log "
            "WHERE client = $1 AND seq > $2::bigint ORDER BY seq",
            {client, std::to_string(after_seq)}));
  std::vector<OffsetLogRow> rows;
  for (int r = 0; r < res.rows(); ++r) {
    OffsetLogRow row;
    row.seq = ToInt(res.GetValue(r, 0));
    row.client = std::string(res.GetValue(r, 1));
    row.epoch = ToInt(res.GetValue(r, 2));
    row.old_epoch = ToInt(res.GetValue(r, 3));
    row.old_acked = ToInt(res.GetValue(r, 4));
    row.new_acked = ToInt(res.GetValue(r, 5));
    row.at_micros = ToInt(res.GetValue(r, 6));
    row.backend_pid = static_cast<int>(ToInt(res.GetValue(r, 7)));
    row.application_name = std::string(res.GetValue(r, 8));
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<std::vector<LeaseLogRow>> FailoverAudit::LeaseLog(const std::string& cluster,
                                                         int64_t after_seq) {
  OWSYNC_ASSIGN_OR_RETURN(
      shipper::PgResult res,
      Query("SELECT seq, cluster, COALESCE(leader_id, ''), COALESCE(epoch, 0), "
            "COALESCE(old_epoch, 0), (extract(epoch FROM lease_expires_at) * 1000000)::bigint, "
            "lock_pid, (extract(epoch FROM at) * 1000000)::bigint FROM owsync_audit.lease_log "
            "WHERE cluster = $1 AND seq > $2::bigint ORDER BY seq",
            {cluster, std::to_string(after_seq)}));
  std::vector<LeaseLogRow> rows;
  for (int r = 0; r < res.rows(); ++r) {
    LeaseLogRow row;
    row.seq = ToInt(res.GetValue(r, 0));
    row.cluster = std::string(res.GetValue(r, 1));
    row.leader_id = std::string(res.GetValue(r, 2));
    row.epoch = ToInt(res.GetValue(r, 3));
    row.old_epoch = ToInt(res.GetValue(r, 4));
    row.expires_micros = res.IsNull(r, 5) ? 0 : ToInt(res.GetValue(r, 5));
    if (!res.IsNull(r, 6)) row.lock_pid = static_cast<int>(ToInt(res.GetValue(r, 6)));
    row.at_micros = ToInt(res.GetValue(r, 7));
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<std::vector<std::string>> FailoverAudit::Regressions() {
  OWSYNC_ASSIGN_OR_RETURN(
      shipper::PgResult res,
      Query("SELECT table_name, old_offset::text, new_offset::text, COALESCE(old_row, '') FROM "
            "owsync_audit.regressions ORDER BY at LIMIT 20"));
  std::vector<std::string> out;
  for (int r = 0; r < res.rows(); ++r) {
    out.push_back(std::string(res.GetValue(r, 0)) + ": offset " + std::string(res.GetValue(r, 1)) +
                  " -> " + std::string(res.GetValue(r, 2)) + ", row " +
                  std::string(res.GetValue(r, 3)));
  }
  return out;
}

Status FailoverAudit::ProveRegressionDetectorLive(const std::string& client_schema) {
  OWSYNC_ASSIGN_OR_RETURN(shipper::PgResult before,
                          Query("SELECT count(*) FROM owsync_audit.regressions"));
  const int64_t seen = ToInt(before.GetValue(0, 0));
  OWSYNC_RETURN_IF_ERROR(Query("BEGIN").status());
  Result<shipper::PgResult> live = Query("SELECT owsync_audit.prove_live($1)", {client_schema});
  Status rolled_back = Query("ROLLBACK").status();
  OWSYNC_RETURN_IF_ERROR(live.status());
  OWSYNC_RETURN_IF_ERROR(rolled_back);
  const int64_t after = ToInt(live->GetValue(0, 0));
  if (after != seen + 1) {
    return Status::Internal("the regression detector did not see a lowered offset (" +
                            std::to_string(after) + " recorded, expected " +
                            std::to_string(seen + 1) + ")");
  }
  return Status::OK();
}

Result<int64_t> FailoverAudit::ServerNowMicros() {
  OWSYNC_ASSIGN_OR_RETURN(
      shipper::PgResult res,
      Query("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"));
  return ToInt(res.GetValue(0, 0));
}

std::vector<std::string> FailoverAudit::CheckOffsetLog(const std::vector<OffsetLogRow>& rows) {
  std::vector<std::string> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    const OffsetLogRow& r = rows[i];
    const std::string where = "offset log seq " + std::to_string(r.seq) + " (epoch " +
                              std::to_string(r.epoch) + ", " + r.application_name + ")";
    if (r.epoch < r.old_epoch) {
      out.push_back(where + ": epoch lowered from " + std::to_string(r.old_epoch));
    }
    if (r.new_acked < r.old_acked) {
      out.push_back(where + ": acked offset lowered from " + std::to_string(r.old_acked) + " to " +
                    std::to_string(r.new_acked));
    }
    if (i == 0) continue;
    const OffsetLogRow& p = rows[i - 1];
    if (r.epoch < p.epoch) {
      out.push_back(where + ": committed after seq " + std::to_string(p.seq) + " of epoch " +
                    std::to_string(p.epoch));
    }
    if (r.old_epoch != p.epoch || r.old_acked != p.new_acked) {
      out.push_back(where + " does not continue seq " + std::to_string(p.seq) +
                    ": a committed update of the offset row is missing from the log");
    }
  }
  return out;
}

std::vector<std::string> FailoverAudit::CheckCommitsWithinLease(
    const std::vector<OffsetLogRow>& rows, const std::vector<LeaseLogRow>& leases) {
  std::map<int64_t, int64_t> lease_end;  // epoch -> expiry of its last lease row
  for (const LeaseLogRow& l : leases) lease_end[l.epoch] = l.expires_micros;
  std::vector<std::string> out;
  for (const OffsetLogRow& r : rows) {
    if (r.epoch == 0) continue;  // not a shipper's (provisioning)
    auto it = lease_end.find(r.epoch);
    const std::string where = "offset log seq " + std::to_string(r.seq) + " (epoch " +
                              std::to_string(r.epoch) + ", " + r.application_name + ")";
    if (it == lease_end.end()) {
      out.push_back(where + ": no lease row ever had this epoch");
    } else if (r.at_micros > it->second) {
      out.push_back(where + ": committed " + Seconds(r.at_micros - it->second) +
                    " after its lease ended");
    }
  }
  return out;
}

int FailoverAudit::PidOfNodeId(const std::string& node_id) {
  const size_t a = node_id.find(':');
  const size_t b = a == std::string::npos ? a : node_id.find(':', a + 1);
  if (b == std::string::npos) return -1;
  const size_t c = node_id.find(':', b + 1);
  const std::string pid = node_id.substr(b + 1, c == std::string::npos ? c : c - b - 1);
  if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) {
    return -1;
  }
  return std::stoi(pid);
}

std::optional<OffsetLogRow> FailoverAudit::FirstAbove(const std::vector<OffsetLogRow>& rows,
                                                      int64_t epoch, bool batch_only) {
  for (const OffsetLogRow& r : rows) {
    if (r.epoch > epoch && (!batch_only || r.is_batch())) return r;
  }
  return std::nullopt;
}

}  // namespace owsync::tests
