// PgResult: owns one PGresult (freed with PQclear on destruction). Move-only. Values are text
// (owsync requests text results); GetValue views stay valid while the PgResult lives.
#ifndef OWSYNC_SHIPPER_PG_RESULT_H_
#define OWSYNC_SHIPPER_PG_RESULT_H_

#include <libpq-fe.h>

#include <cassert>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace owsync::shipper {

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* res) : res_(res) {}
  PgResult(PgResult&& other) noexcept : res_(std::exchange(other.res_, nullptr)) {}
  PgResult& operator=(PgResult&& other) noexcept {
    if (this != &other) {
      Reset();
      res_ = std::exchange(other.res_, nullptr);
    }
    return *this;
  }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult() { Reset(); }

  bool valid() const { return res_ != nullptr; }
  ExecStatusType status() const { return res_ ? PQresultStatus(res_) : PGRES_FATAL_ERROR; }
  int rows() const { return res_ ? PQntuples(res_) : 0; }
  int columns() const { return res_ ? PQnfields(res_) : 0; }
  // Rows inserted/updated/deleted by the command (0 when it reports none).
  long long affected_rows() const {
    const char* n = res_ ? PQcmdTuples(res_) : "";
    return n[0] == '\0' ? 0 : std::atoll(n);
  }
  std::string_view ColumnName(int col) const { return PQfname(res_, col); }
  // Index of the column named `name`, or -1.
  int ColumnIndex(const char* name) const { return res_ ? PQfnumber(res_, name) : -1; }

  bool IsNull(int row, int col) const {
    assert(row < rows() && col < columns());
    return PQgetisnull(res_, row, col) != 0;
  }
  // The text value ("" for NULL: check IsNull when it matters).
  std::string_view GetValue(int row, int col) const {
    assert(row < rows() && col < columns());
    return std::string_view(PQgetvalue(res_, row, col),
                            static_cast<size_t>(PQgetlength(res_, row, col)));
  }
  std::optional<std::string> GetOptional(int row, int col) const {
    if (IsNull(row, col)) return std::nullopt;
    return std::string(GetValue(row, col));
  }

  PGresult* get() const { return res_; }

 private:
  void Reset() {
    if (res_ != nullptr) PQclear(res_);
    res_ = nullptr;
  }
  PGresult* res_ = nullptr;
};

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_PG_RESULT_H_
