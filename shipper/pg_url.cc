#include "shipper/pg_url.h"

#include <libpq-fe.h>

#include <cctype>
#include <memory>

namespace owsync::shipper {
namespace {

// libpq's parse errors quote pieces of the input ("missing "=" after "xyz""); those pieces
// may be a password, so quoted text longer than one character is blanked.
std::string RedactQuoted(std::string_view msg) {
  std::string out;
  size_t i = 0;
  while (i < msg.size()) {
    const size_t open = msg.find('"', i);
    const size_t close = open == std::string_view::npos ? open : msg.find('"', open + 1);
    if (close == std::string_view::npos) {
      out += msg.substr(i);
      break;
    }
    out += msg.substr(i, open - i);
    out += close - open <= 2 ? msg.substr(open, close - open + 1) : "\"...\"";
    i = close + 1;
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool IsPlainHost(const std::string& h) {
  return !h.empty() && h.find_first_of("/,:") == std::string::npos;
}

bool IsPlainIpv6(const std::string& h) {
  return h.find(':') != std::string::npos && h.find_first_of("/,[]") == std::string::npos;
}

}  // namespace

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<PgUrl> PgUrl::Parse(std::string_view conninfo) {
  std::string input(conninfo);
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(input.c_str(), &err);
  if (opts == nullptr) {
    std::string msg = "cannot parse the PostgreSQL URL or connection string";
    if (err != nullptr) {
      msg += ": " + RedactQuoted(err);
      PQfreemem(err);
    }
    return Status::InvalidArgument(msg);
  }
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> guard(opts, &PQconninfoFree);
  PgUrl url;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) url.options_.emplace_back(o->keyword, o->val);
  }
  return url;
}

PgUrl PgUrl::FromParts(std::string_view host, int port, std::string_view user,
                       const std::optional<std::string>& password, std::string_view dbname) {
  PgUrl url;
  if (!user.empty()) url.options_.emplace_back("user", user);
  if (password.has_value()) url.options_.emplace_back("password", *password);
  if (!dbname.empty()) url.options_.emplace_back("dbname", dbname);
  if (!host.empty()) url.options_.emplace_back("host", host);
  if (port > 0) url.options_.emplace_back("port", std::to_string(port));
  return url;
}

std::optional<std::string> PgUrl::Get(std::string_view keyword) const {
  for (const auto& [k, v] : options_) {
    if (k == keyword) return v;
  }
  return std::nullopt;
}

PgUrl PgUrl::With(std::string_view keyword, std::string_view value) const {
  PgUrl copy = *this;
  for (auto& [k, v] : copy.options_) {
    if (k == keyword) {
      v = value;
      return copy;
    }
  }
  copy.options_.emplace_back(keyword, value);
  return copy;
}

PgUrl PgUrl::Without(std::string_view keyword) const {
  PgUrl copy;
  for (const auto& kv : options_) {
    if (kv.first != keyword) copy.options_.push_back(kv);
  }
  return copy;
}

std::string PgUrl::ToString() const { return Render(/*mask=*/false); }
std::string PgUrl::Masked() const { return Render(/*mask=*/true); }

std::string PgUrl::Render(bool mask) const {
  const std::string host = Get("host").value_or("");
  const std::string port = Get("port").value_or("");
  const bool inline_host = IsPlainHost(host) || IsPlainIpv6(host);
  std::string out = "postgresql://";
  if (auto user = Get("user")) {
    out += PercentEncode(*user);
    if (auto pw = Get("password"))
      out += ":" + (mask ? std::string("********") : PercentEncode(*pw));
    out += "@";
  } else if (auto pw = Get("password")) {
    out += ":" + (mask ? std::string("********") : PercentEncode(*pw)) + "@";
  }
  if (inline_host) {
    out += IsPlainIpv6(host) ? "[" + host + "]" : PercentEncode(host);
    if (!port.empty() && port.find(',') == std::string::npos) out += ":" + PercentEncode(port);
  }
  out += "/";
  if (auto db = Get("dbname")) out += PercentEncode(*db);
  char sep = '?';
  for (const auto& [k, v] : options_) {
    if (k == "user" || k == "password" || k == "dbname") continue;
    if (inline_host && k == "host") continue;
    if (inline_host && k == "port" && port.find(',') == std::string::npos) continue;
    out += sep;
    sep = '&';
    out += PercentEncode(k) + "=" + PercentEncode(v);
  }
  return out;
}

}  // namespace owsync::shipper
