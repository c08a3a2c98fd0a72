#include "shipper/lock_url_check.h"

#include "shipper/pg_connection.h"
#include "shipper/pg_url.h"

namespace owsync::shipper {

namespace {

std::string Masked(const std::string& url) {
  auto parsed = PgUrl::Parse(url);
  return parsed.ok() ? parsed->Masked() : std::string("(unparsable URL)");
}

}  // namespace

Status LockUrlCheck::Run(Clock* clock, const std::string& url, const std::string& lock_url,
                         Deadline deadline) {
  PgConnectOptions o;
  o.application_name = "owsync-lock-check";
  OWSYNC_ASSIGN_OR_RETURN(PgConnection lock, PgConnection::Connect(clock, lock_url, deadline, o));
  OWSYNC_ASSIGN_OR_RETURN(PgResult mine,
                          lock.Exec("SELECT pg_backend_pid(), current_database()", deadline));
  const std::string pid(mine.GetValue(0, 0));
  const std::string lock_db(mine.GetValue(0, 1));
  OWSYNC_ASSIGN_OR_RETURN(PgConnection main, PgConnection::Connect(clock, url, deadline, o));
  OWSYNC_ASSIGN_OR_RETURN(
      PgResult seen,
      main.ExecParams("SELECT current_database(), EXISTS (SELECT 1 FROM pg_stat_activity WHERE "
                      "pid = $1::integer AND datname = current_database())",
                      {pid}, deadline));
  if (seen.GetValue(0, 1) == "t") return Status::OK();
  return Status::InvalidArgument(
      "LOCK_DATABASE_URL (" + Masked(lock_url) + ", database \"" + lock_db +
      "\") does not reach the database of DATABASE_URL (" + Masked(url) + ", database \"" +
      std::string(seen.GetValue(0, 0)) +
      "\"): the follower could never see the leader's lock and would take the lease over at "
      "every look. Set LOCK_DATABASE_URL to a session-mode URL of the same database (Supabase: "
      "the session pooler on port 5432 or the direct host), or to none to turn the fast path "
      "off");
}

}  // namespace owsync::shipper
