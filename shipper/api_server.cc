#include "shipper/api_server.h"

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "shipper/cluster_status.h"

namespace owsync::shipper {
namespace {

using nlohmann::json;

void Reply(httplib::Response& res, int code, const json& body) {
  res.status = code;
  res.set_content(body.dump(), "application/json");
}

void ReplyError(httplib::Response& res, int code, const std::string& message) {
  Reply(res, code, json{{"error", message}});
}

// HTTP status of a failed call.
int CodeOf(const Status& s) {
  switch (s.code()) {
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kFailedPrecondition:
      return 409;
    default:
      return s.retryable() || s.code() == StatusCode::kUnavailable ? 503 : 500;
  }
}

// Equal strings, in time independent of where they differ.
bool SameToken(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::string Trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

}  // namespace

struct ApiServer::Impl {
  FileSystem* fs;
  Clock* clock;
  Logger* logger;
  ShipNode* node;
  NodePgSession* session;
  SyncJobTracker* jobs;
  ApiServerOptions options;
  std::string token;  // "" = no token configured
  httplib::Server server;
  std::thread thread;
  int port = 0;
  bool started = false;

  // The lease holder while its lease runs, else "".
  static std::string LiveLeader(const NodeSnapshot& s) {
    if (s.is_leader) return s.node_id;
    if (!s.lease.leader_id.empty() && s.lease.expires_at_micros > s.lease.server_now_micros) {
      return s.lease.leader_id;
    }
    return "";
  }

  void Health(httplib::Response& res) {
    const NodeSnapshot s = node->Snapshot();
    const std::string leader = LiveLeader(s);
    json j = {{"status", s.postgres_reachable ? "ok" : "unavailable"},
              {"node_id", s.node_id},
              {"role", s.role},
              {"is_leader", s.is_leader},
              {"leader_id", leader.empty() ? json(nullptr) : json(leader)},
              {"epoch", s.is_leader ? s.epoch : s.lease.epoch},
              {"postgres_reachable", s.postgres_reachable}};
    j["lease_expires_at"] =
        s.lease.expires_at_micros > 0 ? json(FormatIsoUtc(s.lease.expires_at_micros)) : json();
    j["uptime_seconds"] = std::max<int64_t>(0, clock->NowMicros() - s.started_micros) / 1'000'000;
    j["last_sync"] =
        s.last_commit_micros > 0 ? json(FormatIsoUtc(s.last_commit_micros)) : json(nullptr);
    Reply(res, s.postgres_reachable ? 200 : 503, j);
  }

  void ClusterStatusOf(httplib::Response& res) {
    auto report = session->Run<ClusterStatusReport>([&](PgConnection* conn) {
      return ClusterStatus::Read(conn, options.cluster, session->StatementDeadline());
    });
    if (!report.ok()) {
      ReplyError(res, 503,
                 "cannot read the cluster's state from PostgreSQL: " + report.status().ToString());
      return;
    }
    json j = report->ToJson();
    const NodeSnapshot s = node->Snapshot();
    j["answered_by"] = {{"node_id", s.node_id}, {"role", s.role}};
    Reply(res, 200, j);
  }

  // True when the request carries the token; otherwise answers 401/403 and logs.
  bool Authorized(const httplib::Request& req, httplib::Response& res) {
    if (token.empty()) {
      logger->Warn("api: refused {} {} from {}:{}: no API_TOKEN_FILE is configured", req.method,
                   req.path, req.remote_addr, req.remote_port);
      ReplyError(res, 403,
                 "mutating calls are disabled on this node: set API_TOKEN_FILE to a file holding "
                 "a bearer token and restart it");
      return false;
    }
    const std::string header = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    const bool present = header.size() > prefix.size() && header.compare(0, 7, prefix) == 0;
    if (present && SameToken(Trim(header.substr(prefix.size())), token)) return true;
    logger->Warn("api: unauthorized {} {} from {}:{}: {}", req.method, req.path, req.remote_addr,
                 req.remote_port, present ? "wrong bearer token" : "no bearer token");
    res.set_header("WWW-Authenticate", "Bearer realm=\"owsync\"");
    ReplyError(res, 401,
               present ? "wrong bearer token" : "missing Authorization: Bearer <token> header");
    return false;
  }

  void Trigger(const httplib::Request& req, httplib::Response& res) {
    if (!Authorized(req, res)) return;
    const std::string client = req.matches[1];
    Result<std::string> job = jobs->Trigger(client);
    if (job.ok()) {
      Reply(res, 202,
            json{{"job_id", *job},
                 {"client", client},
                 {"status", "running"},
                 {"node_id", node->Snapshot().node_id}});
      return;
    }
    if (job.status().code() != StatusCode::kFailedPrecondition) {
      ReplyError(res, CodeOf(job.status()), job.status().message());
      return;
    }
    // A follower: where the leader is.
    const std::string leader = LiveLeader(node->Snapshot());
    json j = {{"error", "this node does not lead cluster " + options.cluster +
                            (leader.empty() ? ": no node leads now" : ": send it to the leader")}};
    j["leader_id"] = leader.empty() ? json(nullptr) : json(leader);
    j["leader_address"] = nullptr;
    if (!leader.empty()) {
      auto address = session->Run<std::string>([&](PgConnection* conn) {
        return ClusterStatus::ApiAddressOf(conn, options.cluster, leader,
                                           session->StatementDeadline());
      });
      if (address.ok() && !address->empty()) j["leader_address"] = *address;
    }
    Reply(res, 409, j);
  }

  void Job(const httplib::Request& req, httplib::Response& res) {
    Result<json> job = jobs->Job(req.matches[1]);
    if (!job.ok()) {
      ReplyError(res, CodeOf(job.status()), job.status().message());
      return;
    }
    Reply(res, 200, *job);
  }

  // Runs a handler; an exception (a bug) becomes a 500 with its message instead of a crash.
  template <typename F>
  httplib::Server::Handler Guard(F f) {
    return [this, f](const httplib::Request& req, httplib::Response& res) {
      try {
        f(req, res);
      } catch (const std::exception& e) {
        logger->Error("api: {} {}: {}", req.method, req.path, e.what());
        ReplyError(res, 500, std::string("internal error: ") + e.what());
      }
    };
  }

  void Routes() {
    server.Get("/health", Guard([this](const auto&, auto& res) { Health(res); }));
    server.Get("/api/v1/cluster/status",
               Guard([this](const auto&, auto& res) { ClusterStatusOf(res); }));
    server.Post("/api/v1/sync/trigger/([^/]+)",
                Guard([this](const auto& req, auto& res) { Trigger(req, res); }));
    server.Get("/api/v1/sync/jobs/([^/]+)",
               Guard([this](const auto& req, auto& res) { Job(req, res); }));
    auto not_found = [](const httplib::Request& req, httplib::Response& res) {
      ReplyError(res, 404, "no such endpoint: " + req.method + " " + req.path + " (docs/api.md)");
    };
    server.Get(".*", not_found);
    server.Post(".*", not_found);
    server.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      logger->Debug("api: {} {} -> {} ({}:{})", req.method, req.path, res.status, req.remote_addr,
                    req.remote_port);
    });
  }
};

ApiServer::ApiServer(FileSystem* fs, Clock* clock, Logger* logger, ShipNode* node,
                     NodePgSession* session, SyncJobTracker* jobs, ApiServerOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->fs = fs;
  impl_->clock = clock;
  impl_->logger = logger;
  impl_->node = node;
  impl_->session = session;
  impl_->jobs = jobs;
  impl_->options = std::move(options);
}

ApiServer::~ApiServer() { Stop(); }

int ApiServer::port() const { return impl_->port; }

Status ApiServer::Start() {
  Impl& m = *impl_;
  if (m.started) return Status::OK();
  if (!m.options.token_file.empty()) {
    auto text = ReadFileToString(m.fs, m.options.token_file);
    if (!text.ok()) {
      return Status::InvalidArgument("API_TOKEN_FILE " + m.options.token_file +
                                     " cannot be read: " + text.status().ToString());
    }
    m.token = Trim(*text);
    if (m.token.empty()) {
      return Status::InvalidArgument("API_TOKEN_FILE " + m.options.token_file + " is empty");
    }
  }
  const size_t workers = static_cast<size_t>(std::max(1, m.options.worker_threads));
  m.server.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  m.server.set_read_timeout(5, 0);
  m.server.set_write_timeout(5, 0);
  m.server.set_payload_max_length(64 << 10);
  m.Routes();
  if (m.options.port == 0) {
    m.port = m.server.bind_to_any_port(m.options.bind);
    if (m.port <= 0) {
      return Status::Unavailable("API: cannot listen on " + m.options.bind + " (API_BIND)");
    }
  } else {
    if (!m.server.bind_to_port(m.options.bind, m.options.port)) {
      return Status::Unavailable("API: cannot listen on " + m.options.bind + ":" +
                                 std::to_string(m.options.port) +
                                 " (API_BIND, API_PORT): in use or not a local address");
    }
    m.port = m.options.port;
  }
  m.thread = std::thread([&m] { m.server.listen_after_bind(); });
  m.started = true;
  // stop() only ends a server that is already running: wait for it.
  for (int i = 0; i < 5000 && !m.server.is_running(); ++i) m.clock->SleepForMicros(1000);
  m.logger->Info("api: listening on http://{}:{} (mutating calls {})", m.options.bind, m.port,
                 m.token.empty() ? "refused: no API_TOKEN_FILE" : "need the bearer token");
  return Status::OK();
}

void ApiServer::Stop() {
  Impl& m = *impl_;
  if (!m.started) return;
  m.started = false;
  m.server.stop();
  if (m.thread.joinable()) m.thread.join();
}

}  // namespace owsync::shipper
