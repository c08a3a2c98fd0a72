#include "shipper/ship_config.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "shipper/pg_url.h"

namespace owsync::shipper {
namespace {

// Settings read and validated but not acted on yet (metrics come with a later issue).
constexpr const char* kNotAppliedYet[] = {"ENABLE_METRICS", "METRICS_PORT"};

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Supabase's pooler in transaction mode listens on 6543: no session state there, so no
// advisory lock can be trusted through it.
bool LooksLikeTransactionPooler(const std::string& url) {
  auto parsed = PgUrl::Parse(url);
  return parsed.ok() && parsed->Get("port") == "6543";
}

Status Bad(const std::string& name, const std::string& value, std::string_view rule) {
  return Status::InvalidArgument(fmt::format("{}=\"{}\": {}", name, value, rule));
}

// Parses a non-negative integer followed by an optional unit; `units` maps unit -> factor.
template <typename Units>
std::optional<double> NumberWithUnit(const std::string& v, const Units& units) {
  size_t i = 0;
  while (i < v.size() && (std::isdigit(static_cast<unsigned char>(v[i])) || v[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  double number = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + i, number);
  if (ec != std::errc() || p != v.data() + i || !std::isfinite(number)) return std::nullopt;
  const std::string unit = Lower(Trim(std::string_view(v).substr(i)));
  for (const auto& [name, factor] : units) {
    if (unit == name) return number * factor;
  }
  return std::nullopt;
}

struct Unit {
  const char* name;
  double factor;
};
constexpr Unit kSizeUnits[] = {{"", 1},
                               {"b", 1},
                               {"k", 1024.0},
                               {"kb", 1024.0},
                               {"kib", 1024.0},
                               {"m", 1048576.0},
                               {"mb", 1048576.0},
                               {"mib", 1048576.0},
                               {"g", 1073741824.0},
                               {"gb", 1073741824.0},
                               {"gib", 1073741824.0}};
constexpr Unit kDurationUnits[] = {{"", 1e6},   {"s", 1e6},    {"ms", 1e3},
                                   {"m", 60e6}, {"min", 60e6}, {"h", 3600e6}};

class Reader {
 public:
  Reader(const EnvLookup& env, ShipConfig* config) : env_(env), config_(config) {}

  // The trimmed value, or nullopt when unset or empty.
  std::optional<std::string> Get(const std::string& name) {
    std::optional<std::string> v = env_(name);
    if (!v.has_value()) return std::nullopt;
    std::string t = Trim(*v);
    if (t.empty()) return std::nullopt;
    config_->set_variables.insert(name);
    return t;
  }

  Status Integer(const std::string& name, int64_t min, int64_t max, int64_t* out) {
    auto v = Get(name);
    if (!v) return Status::OK();
    int64_t n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || p != v->data() + v->size()) {
      return Bad(name, *v, "not a whole number");
    }
    if (n < min || n > max) return Bad(name, *v, fmt::format("must be {}..{}", min, max));
    *out = n;
    return Status::OK();
  }

  Status Port(const std::string& name, int* out, int64_t min = 1) {
    int64_t n = *out;
    OWSYNC_RETURN_IF_ERROR(Integer(name, min, 65535, &n));
    *out = static_cast<int>(n);
    return Status::OK();
  }

  Status Bytes(const std::string& name, int64_t min, int64_t max, int64_t* out) {
    auto v = Get(name);
    if (!v) return Status::OK();
    auto n = NumberWithUnit(*v, kSizeUnits);
    if (!n || *n != std::floor(*n)) {
      return Bad(name, *v, "not a size (bytes, or a whole number with K, M or G)");
    }
    if (*n < static_cast<double>(min) || *n > static_cast<double>(max)) {
      return Bad(name, *v, fmt::format("must be {} KiB..{} MiB", min >> 10, max >> 20));
    }
    *out = static_cast<int64_t>(*n);
    return Status::OK();
  }

  Status Duration(const std::string& name, int64_t min_micros, int64_t max_micros,
                  std::optional<int64_t>* out) {
    auto v = Get(name);
    if (!v) return Status::OK();
    auto n = NumberWithUnit(*v, kDurationUnits);
    if (!n) return Bad(name, *v, "not a duration (seconds, or a number with ms, s, m or h)");
    const auto micros = static_cast<int64_t>(std::llround(*n));
    if (micros < min_micros || micros > max_micros) {
      return Bad(name, *v, fmt::format("must be {} s..{} s", min_micros / 1e6, max_micros / 1e6));
    }
    *out = micros;
    return Status::OK();
  }

  Status Bool(const std::string& name, bool* out) {
    auto v = Get(name);
    if (!v) return Status::OK();
    const std::string l = Lower(*v);
    if (l == "true" || l == "1" || l == "yes" || l == "on") {
      *out = true;
    } else if (l == "false" || l == "0" || l == "no" || l == "off") {
      *out = false;
    } else {
      return Bad(name, *v, "must be true or false");
    }
    return Status::OK();
  }

  // NAME or NAME_FILE (not both); nullopt when neither is set. `from` says which.
  Result<std::optional<std::string>> Secret(const std::string& name, FileSystem* fs,
                                            std::string* from) {
    auto direct = Get(name);
    auto file = Get(name + "_FILE");
    if (direct && file) {
      return Status::InvalidArgument(
          fmt::format("both {} and {}_FILE are set; set only one", name, name));
    }
    if (direct) {
      *from = name;
      return direct;
    }
    if (!file) return std::optional<std::string>();
    auto text = ReadFileToString(fs, *file);
    if (!text.ok()) {
      return text.status().WithContext(fmt::format("reading {}_FILE={}", name, *file));
    }
    std::string value = Trim(*text);
    if (value.empty()) {
      return Status::InvalidArgument(fmt::format("{}_FILE={}: the file is empty", name, *file));
    }
    *from = fmt::format("{}_FILE ({})", name, *file);
    return std::optional<std::string>(value);
  }

 private:
  const EnvLookup& env_;
  ShipConfig* config_;
};

Status CheckUrl(const std::string& name, const std::string& url) {
  // PgUrl's error never repeats the URL (it may hold a password).
  auto parsed = PgUrl::Parse(url);
  if (!parsed.ok()) return parsed.status().WithContext(name);
  return Status::OK();
}

Status CheckName(const std::string& name, const std::string& value, size_t max_bytes) {
  if (value.size() > max_bytes) {
    return Bad(name, value, fmt::format("longer than {} bytes", max_bytes));
  }
  for (unsigned char c : value) {
    if (std::iscntrl(c) || std::isspace(c))
      return Bad(name, value, "contains a blank or control character");
  }
  return Status::OK();
}

std::string Seconds(int64_t micros) {
  if (micros % 1'000'000 == 0) return fmt::format("{}s", micros / 1'000'000);
  return fmt::format("{:.3f}s", static_cast<double>(micros) / 1e6);
}

std::string Size(int64_t bytes) {
  if (bytes % (int64_t{1} << 20) == 0) return fmt::format("{} ({} MiB)", bytes, bytes >> 20);
  if (bytes % 1024 == 0) return fmt::format("{} ({} KiB)", bytes, bytes >> 10);
  return std::to_string(bytes);
}

std::string MaskedUrl(const std::string& url) {
  auto parsed = PgUrl::Parse(url);
  return parsed.ok() ? parsed->Masked() : "<unparsable>";
}

}  // namespace

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<ShipConfig> ShipConfig::FromEnvironment(const EnvLookup& env, FileSystem* fs) {
  ShipConfig c;
  Reader r(env, &c);

  OWSYNC_ASSIGN_OR_RETURN(auto url, r.Secret("DATABASE_URL", fs, &c.database_url_from));
  if (!url) {
    return Status::InvalidArgument(
        "DATABASE_URL (or DATABASE_URL_FILE) is required: the host role's PostgreSQL URL");
  }
  c.database_url = *url;
  OWSYNC_RETURN_IF_ERROR(CheckUrl(c.database_url_from, c.database_url));
  OWSYNC_ASSIGN_OR_RETURN(auto lock_url,
                          r.Secret("LOCK_DATABASE_URL", fs, &c.lock_database_url_from));
  if (lock_url && (Lower(*lock_url) == "none" || Lower(*lock_url) == "off")) {
    c.lock_database_url.clear();  // the operator turned the fast path off
    c.fast_path_off_reason = "LOCK_DATABASE_URL=" + Lower(*lock_url);
  } else if (lock_url) {
    c.lock_database_url = *lock_url;
    OWSYNC_RETURN_IF_ERROR(CheckUrl(c.lock_database_url_from, c.lock_database_url));
  } else if (LooksLikeTransactionPooler(c.database_url)) {
    c.fast_path_off_reason =
        "DATABASE_URL is a transaction pooler (port 6543) and no LOCK_DATABASE_URL is set";
  } else {
    c.lock_database_url = c.database_url;
    c.lock_database_url_from = "DATABASE_URL";
  }

  if (auto v = r.Get("HOST_NAME")) {
    c.host_name = *v;
  } else {
    char buf[256] = {};
    if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') {
      return Status::InvalidArgument("HOST_NAME is not set and gethostname() failed");
    }
    c.host_name = buf;
  }
  OWSYNC_RETURN_IF_ERROR(CheckName("HOST_NAME", c.host_name, 255));
  c.cluster_name = r.Get("CLUSTER_NAME").value_or(c.host_name);
  OWSYNC_RETURN_IF_ERROR(CheckName("CLUSTER_NAME", c.cluster_name, 100));

  if (auto v = r.Get("ROLE")) {
    const std::string role = Lower(*v);
    if (role != "primary" && role != "secondary") {
      return Bad("ROLE", *v, "must be primary or secondary");
    }
    c.role = role;
  }
  c.api_port = c.role == "primary" ? 9443 : 9444;
  OWSYNC_RETURN_IF_ERROR(r.Port("API_PORT", &c.api_port, 0));  // 0: any free port
  c.api_bind = r.Get("API_BIND").value_or("127.0.0.1");
  c.api_token_file = r.Get("API_TOKEN_FILE").value_or("");
  OWSYNC_RETURN_IF_ERROR(r.Bool("ENABLE_METRICS", &c.enable_metrics));
  c.metrics_port = c.api_port;
  OWSYNC_RETURN_IF_ERROR(r.Port("METRICS_PORT", &c.metrics_port));

  OWSYNC_RETURN_IF_ERROR(r.Integer("BATCH_SIZE", 1, 1'000'000, &c.batch_rows));
  OWSYNC_RETURN_IF_ERROR(
      r.Bytes("BATCH_BYTES", int64_t{64} << 10, int64_t{1} << 30, &c.batch_bytes));
  OWSYNC_RETURN_IF_ERROR(
      r.Bytes("SHIP_QUEUE_BYTES", int64_t{64} << 10, int64_t{4} << 30, &c.queue_bytes));
  if (c.queue_bytes < c.batch_bytes) {
    return Status::InvalidArgument(
        fmt::format("SHIP_QUEUE_BYTES={} is below BATCH_BYTES={}: the queue must hold a batch",
                    c.queue_bytes, c.batch_bytes));
  }

  std::optional<int64_t> lease, heartbeat, interval;
  OWSYNC_RETURN_IF_ERROR(r.Duration("LEASE_DURATION", 200'000, 3'600'000'000, &lease));
  OWSYNC_RETURN_IF_ERROR(r.Duration("HEARTBEAT_INTERVAL", 10'000, 3'600'000'000, &heartbeat));
  c.lease_micros = lease.value_or(kDefaultLeaseMicros);
  c.heartbeat_micros = heartbeat.value_or(c.lease_micros / 3);
  // The leader steps down lease/5 before its lease ends unless a renewal came back.
  if (c.heartbeat_micros >= c.lease_micros - c.lease_micros / 5) {
    return Status::InvalidArgument(fmt::format(
        "HEARTBEAT_INTERVAL={} must be below 80% of LEASE_DURATION={} (a leader steps down "
        "at lease - lease/5 without a renewal); the default is a third of the lease",
        Seconds(c.heartbeat_micros), Seconds(c.lease_micros)));
  }

  if (auto v = r.Get("DEFAULT_SYNC_INTERVAL")) {
    auto parsed = ParseSyncInterval(*v);
    if (!parsed.ok()) return Bad("DEFAULT_SYNC_INTERVAL", *v, parsed.status().message());
    interval = *parsed;
  }
  c.sync_interval_micros = interval.value_or(0);

  for (const char* name : kNotAppliedYet) {
    if (c.set_variables.count(name) > 0) {
      c.warnings.push_back(fmt::format("{} is accepted, not applied yet", name));
    }
  }
  return c;
}

std::vector<std::string> ShipConfig::EffectiveConfigLines() const {
  std::vector<std::string> lines;
  auto add = [&](const std::string& name, const std::string& value,
                 std::initializer_list<const char*> sources = {}) {
    bool set = false;
    for (const char* s : sources) set = set || set_variables.count(s) > 0;
    if (sources.size() == 0) set = set_variables.count(name) > 0;
    std::string line = name + "=" + value + (set ? "" : " (default)");
    for (const char* n : kNotAppliedYet) {
      if (name == n) line += " (accepted, not applied yet)";
    }
    lines.push_back(std::move(line));
  };
  lines.push_back("DATABASE_URL=" + MaskedUrl(database_url) + " (from " + database_url_from + ")");
  add("LOCK_DATABASE_URL",
      lock_database_url.empty()
          ? "<none> (advisory-lock fast path off: " + fast_path_off_reason +
                "; the lease alone decides failover)"
          : MaskedUrl(lock_database_url) +
                (lock_database_url_from == "DATABASE_URL" ? " (same as DATABASE_URL)" : ""),
      {"LOCK_DATABASE_URL", "LOCK_DATABASE_URL_FILE"});
  add("HOST_NAME", host_name);
  add("CLUSTER_NAME", cluster_name);
  add("ROLE", role);
  add("API_BIND", api_bind);
  add("API_PORT", std::to_string(api_port));
  add("API_TOKEN_FILE", api_token_file.empty() ? "<none>" : api_token_file);
  add("ENABLE_METRICS", enable_metrics ? "true" : "false");
  add("METRICS_PORT", std::to_string(metrics_port));
  add("BATCH_SIZE", std::to_string(batch_rows) + " rows");
  add("BATCH_BYTES", Size(batch_bytes));
  add("SHIP_QUEUE_BYTES", Size(queue_bytes));
  add("LEASE_DURATION", Seconds(lease_micros));
  add("HEARTBEAT_INTERVAL", Seconds(heartbeat_micros));
  add("DEFAULT_SYNC_INTERVAL", continuous() ? "continuous" : Seconds(sync_interval_micros));
  return lines;
}

Result<int64_t> ParseSyncInterval(std::string_view text) {
  const std::string l = Lower(std::string(text));
  if (l == "continuous") return int64_t{0};
  if (l == "hourly") return int64_t{3'600'000'000};
  if (l == "daily") return int64_t{86'400'000'000};
  auto n = NumberWithUnit(std::string(text), kDurationUnits);
  if (!n || *n < 0 || *n > 7 * 86'400e6) {
    return Status::InvalidArgument(
        "must be continuous (or 0), hourly, daily, or a duration up to 7 days (e.g. 60, 5m)");
  }
  return static_cast<int64_t>(std::llround(*n));
}

}  // namespace owsync::shipper
