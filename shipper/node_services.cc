#include "shipper/node_services.h"

namespace owsync::shipper {
namespace {

ApiServerOptions ApiOptions(const ShipConfig& c) {
  ApiServerOptions o;
  o.bind = c.api_bind;
  o.port = c.api_port;
  o.token_file = c.api_token_file;
  o.cluster = c.cluster_name;
  o.role = c.role;
  return o;
}

SyncJobTrackerOptions JobOptions(const std::string& outbox_root) {
  SyncJobTrackerOptions o;
  o.outbox_root = outbox_root;
  return o;
}

}  // namespace

NodeServices::NodeServices(FileSystem* fs, Clock* clock, Logger* logger, const ShipConfig& config,
                           std::string outbox_root, ShipNode* node)
    : fs_(fs),
      clock_(clock),
      logger_(logger),
      config_(config),
      outbox_root_(std::move(outbox_root)),
      node_(node),
      session_(clock, logger, config.database_url, "owsync-node"),
      jobs_(fs, clock, logger, &session_, node, JobOptions(outbox_root_)),
      api_(fs, clock, logger, node, &session_, &jobs_, ApiOptions(config)) {}

NodeServices::~NodeServices() { Stop(); }

std::string NodeServices::api_address() const {
  const std::string& bind = config_.api_bind;
  const bool any = bind.empty() || bind == "0.0.0.0" || bind == "::" || bind == "*";
  std::string host = any ? config_.host_name : bind;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";  // IPv6 literal
  return host + ":" + std::to_string(api_.port());
}

Status NodeServices::Start() {
  if (started_) return Status::OK();
  OWSYNC_RETURN_IF_ERROR(api_.Start());
  NodeHeartbeatOptions h;
  h.cluster = config_.cluster_name;
  h.role = config_.role;
  h.host_name = config_.host_name;
  h.api_address = api_address();
  h.interval_micros = config_.heartbeat_micros;
  h.lease_micros = config_.lease_micros;
  h.outbox_root = outbox_root_;
  heartbeat_ = std::make_unique<NodeHeartbeat>(fs_, clock_, logger_, &session_, node_, h);
  heartbeat_->Start();
  jobs_.Start();
  started_ = true;
  return Status::OK();
}

void NodeServices::Stop() {
  if (!started_) return;
  started_ = false;
  api_.Stop();
  jobs_.Stop();
  heartbeat_->Stop();
}

}  // namespace owsync::shipper
