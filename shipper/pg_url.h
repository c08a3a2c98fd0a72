// PgUrl: a PostgreSQL connection string (postgresql:// URI or key=value conninfo), parsed by
// libpq's own parser so owsync reads it exactly as libpq will. Used to tell whether a string
// carries a password (secrets must not come from argv), to print it with the password masked,
// and to derive URLs for other users or databases on the same server. TLS and every other
// option given are kept as they are (never dropped or downgraded).
#ifndef OWSYNC_SHIPPER_PG_URL_H_
#define OWSYNC_SHIPPER_PG_URL_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace owsync::shipper {

class PgUrl {
 public:
  // InvalidArgument when libpq cannot parse it (the error never repeats the input, which may
  // hold a password).
  static Result<PgUrl> Parse(std::string_view conninfo);
  // postgresql://user:password@host:port/dbname; empty parts are left out.
  static PgUrl FromParts(std::string_view host, int port, std::string_view user,
                         const std::optional<std::string>& password, std::string_view dbname);

  bool has_password() const { return Get("password").has_value(); }
  // The value given for `keyword` ("host", "port", "user", "dbname", "sslmode", ...).
  std::optional<std::string> Get(std::string_view keyword) const;
  // A copy with `keyword` set to `value` (replacing any earlier value) or removed.
  PgUrl With(std::string_view keyword, std::string_view value) const;
  PgUrl Without(std::string_view keyword) const;

  // A postgresql:// URI with every option, percent-encoded; libpq reads it back identically.
  std::string ToString() const;
  // The same URI with the password replaced by "********": safe for logs and errors.
  std::string Masked() const;

  // Options in the order libpq lists them (keyword, value); only those given.
  const std::vector<std::pair<std::string, std::string>>& options() const { return options_; }

 private:
  std::string Render(bool mask) const;
  std::vector<std::pair<std::string, std::string>> options_;
};

// RFC 3986 percent-encoding of everything but unreserved characters.
std::string PercentEncode(std::string_view s);

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_PG_URL_H_
