// `owsync trigger CLIENT [--wait]`: asks the HA pair to ship a tenant now, through a node's
// HTTP API (POST /api/v1/sync/trigger/CLIENT, docs/api.md). The local node by default
// (http://127.0.0.1:$API_PORT); when it is the follower (409) the request is sent once more to
// the leader's address it names. The bearer token is read from API_TOKEN_FILE. --wait follows
// the job (GET /api/v1/sync/jobs/ID) until it succeeds or fails.
// Exit codes: 0 started (or, with --wait, succeeded), 1 refused, failed or timed out, 2 bad
// usage.
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli_context.h"

namespace owsync::cli {
namespace {

using nlohmann::json;

struct TriggerArgs {
  std::string client;
  bool wait = false;
  std::string api;
  double timeout_seconds = 300;
};

struct Answer {
  int status = 0;  // 0: no answer
  json body;
  std::string error;  // transport error, or the body's "error"
};

Answer Call(const std::string& base, const std::string& method, const std::string& path,
            const std::string& token) {
  Answer a;
  httplib::Client client(base);
  if (!client.is_valid()) {
    a.error = "not a valid API URL: " + base;
    return a;
  }
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(30, 0);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  httplib::Result res =
      method == "POST" ? client.Post(path, headers, "", "application/json") : client.Get(path);
  if (!res) {
    a.error = "cannot reach the owsync API at " + base + " (" + httplib::to_string(res.error()) +
              "): is `owsync ship` running there? (--api URL, API_PORT)";
    return a;
  }
  a.status = res->status;
  a.body = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (a.body.is_discarded()) a.body = json::object();
  if (a.body.is_object() && a.body.contains("error") && a.body["error"].is_string()) {
    a.error = a.body["error"].get<std::string>();
  } else if (a.status >= 400) {
    a.error = "HTTP " + std::to_string(a.status) + ": " + res->body;
  }
  return a;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

int Refused(const std::string& base, const Answer& a, const std::string& client) {
  std::cerr << "owsync trigger: ";
  switch (a.status) {
    case 0:
      std::cerr << a.error;
      break;
    case 401:
      std::cerr << base << " refused the token (401: " << a.error
                << "): set API_TOKEN_FILE to the file holding the node's token";
      break;
    case 403:
      std::cerr << base << " refused the call (403): " << a.error;
      break;
    case 404:
      std::cerr << "no tenant '" << client << "' on " << base << " (404): " << a.error;
      break;
    default:
      std::cerr << base << " answered " << a.status << ": " << a.error;
  }
  std::cerr << "\n";
  return 1;
}

int Follow(const std::string& base, const std::string& job_id, const std::string& token,
           double timeout_seconds, CliContext* ctx) {
  const int64_t start = ctx->clock->MonotonicMicros();
  int64_t next_print = start;
  bool warned = false;
  while (true) {
    Answer a = Call(base, "GET", "/api/v1/sync/jobs/" + job_id, token);
    if (a.status == 200) {
      const std::string status = Str(a.body, "status");
      const int64_t rows = a.body.value("rows_synced", int64_t{0});
      if (status == "success") {
        std::cout << "job " << job_id << ": success (" << rows << " rows";
        if (a.body.contains("duration_seconds") && a.body["duration_seconds"].is_number()) {
          std::cout << " in " << a.body["duration_seconds"].get<double>() << " s";
        }
        std::cout << ")\n";
        return 0;
      }
      if (status != "running") {
        std::cout << "job " << job_id << ": " << status << ": " << Str(a.body, "error_message")
                  << "\n";
        return 1;
      }
      const int64_t now = ctx->clock->MonotonicMicros();
      if (now >= next_print) {
        std::cout << "job " << job_id << ": running (" << (now - start) / 1'000'000 << " s)\n"
                  << std::flush;
        next_print = now + 5'000'000;
      }
    } else if (!warned) {
      std::cerr << "owsync trigger: following job " << job_id << ": "
                << (a.status ? "HTTP " + std::to_string(a.status) + ": " : "") << a.error
                << " (still trying)\n";
      warned = true;
    }
    if (ctx->clock->MonotonicMicros() - start >= static_cast<int64_t>(timeout_seconds * 1e6)) {
      std::cerr << "owsync trigger: job " << job_id << " still running after " << timeout_seconds
                << " s (--timeout)\n";
      return 1;
    }
    ctx->clock->SleepForMicros(500'000);
  }
}

struct HostPort {
  std::string host;
  std::string port;  // "" when none given
};

// The host and port of an API address ("http://10.0.0.5:9443/", "[::1]:9444", "node-b").
HostPort SplitAddress(std::string address) {
  const size_t scheme = address.find("://");
  if (scheme != std::string::npos) address = address.substr(scheme + 3);
  address = address.substr(0, address.find('/'));
  HostPort hp;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    hp.host = address.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 1 < address.size() && address[close + 1] == ':') {
      hp.port = address.substr(close + 2);
    }
    return hp;
  }
  const size_t colon = address.find(':');
  if (colon != std::string::npos && address.rfind(':') == colon) {
    hp.host = address.substr(0, colon);
    hp.port = address.substr(colon + 1);
  } else {
    hp.host = address;
  }
  return hp;
}

// Whether the bearer token may go to `address`: this machine (loopback), or a peer the
// operator named in API_PEERS (hosts, or host:port for one port only, comma-separated). The
// leader's address comes from PostgreSQL, which this command does not trust with the token.
bool MayForwardTo(const std::string& address, const std::string& peers) {
  const HostPort to = SplitAddress(address);
  if (to.host == "localhost" || to.host == "::1" || to.host.rfind("127.", 0) == 0) return true;
  size_t start = 0;
  while (start < peers.size()) {
    size_t end = peers.find(',', start);
    if (end == std::string::npos) end = peers.size();
    std::string entry = peers.substr(start, end - start);
    entry.erase(0, entry.find_first_not_of(" \t"));
    entry.erase(entry.find_last_not_of(" \t") + 1);
    const HostPort peer = SplitAddress(entry);
    if (!peer.host.empty() && peer.host == to.host && (peer.port.empty() || peer.port == to.port)) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

int Run(const TriggerArgs& a, CliContext* ctx) {
  std::string base = a.api;
  if (base.empty()) {
    std::string port = ctx->getenv("API_PORT").value_or("");
    if (port.empty()) port = ctx->getenv("ROLE").value_or("") == "secondary" ? "9444" : "9443";
    base = "http://127.0.0.1:" + port;
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string token;
  if (auto file = ctx->getenv("API_TOKEN_FILE"); file && !file->empty()) {
    auto text = ReadFileToString(ctx->fs, *file);
    if (!text.ok()) {
      std::cerr << "owsync trigger: API_TOKEN_FILE " << *file << ": " << text.status().ToString()
                << "\n";
      return 2;
    }
    token = *text;
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
      token.pop_back();
    }
  }
  const std::string path = "/api/v1/sync/trigger/" + a.client;
  Answer answer = Call(base, "POST", path, token);
  if (answer.status == 409) {
    const std::string leader = Str(answer.body, "leader_address");
    if (leader.empty()) {
      std::cerr << "owsync trigger: " << base
                << " does not lead and names no leader: " << answer.error << "\n";
      return 1;
    }
    const std::string peers = ctx->getenv("API_PEERS").value_or("");
    if (!token.empty() && !MayForwardTo(leader, peers)) {
      std::cerr << "owsync trigger: " << base << " is the follower; the leader is at " << leader
                << ", which is neither this machine nor listed in API_PEERS: the bearer token "
                   "is not sent there. Run the command on the leader's machine, or add "
                << SplitAddress(leader).host
                << " to API_PEERS (comma-separated hosts or host:port)\n";
      return 1;
    }
    std::cout << base << " is the follower; sending to the leader at " << leader << "\n";
    base = (leader.find("://") == std::string::npos ? "http://" : "") + leader;
    answer = Call(base, "POST", path, token);
  }
  if (answer.status != 202) return Refused(base, answer, a.client);
  const std::string job_id = Str(answer.body, "job_id");
  std::cout << "job " << job_id << ": started for tenant " << a.client << " on "
            << Str(answer.body, "node_id") << "\n"
            << std::flush;
  if (!a.wait) return 0;
  return Follow(base, job_id, token, a.timeout_seconds, ctx);
}

}  // namespace

void AddTriggerCommand(CLI::App* app, CliContext* ctx) {
  auto args = std::make_shared<TriggerArgs>();
  CLI::App* cmd = app->add_subcommand(
      "trigger",
      "Ship tenant CLIENT now: asks the local node's API (http://127.0.0.1:$API_PORT, or --api), "
      "and when that node is the follower, the leader it names, once. Needs the bearer token "
      "from API_TOKEN_FILE, which is sent to the leader only when it is on this machine "
      "(loopback) or listed in API_PEERS (comma-separated hosts or host:port). Prints the sync "
      "job id; --wait follows the job until it ends (exit 0 success, 1 failed).");
  cmd->add_option("client", args->client, "Tenant name")->required();
  cmd->add_flag("--wait", args->wait, "Wait until the job succeeds or fails");
  cmd->add_option("--api", args->api, "API base URL (default http://127.0.0.1:$API_PORT)");
  cmd->add_option("--timeout", args->timeout_seconds,
                  "With --wait: give up after this many seconds (default 300)");
  cmd->callback([args, ctx] { ctx->exit_code = Run(*args, ctx); });
}

}  // namespace owsync::cli
