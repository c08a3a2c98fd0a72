// Result<T>: a value of type T, or the Status that explains why there is none.
#ifndef OWSYNC_UTIL_RESULT_H_
#define OWSYNC_UTIL_RESULT_H_

#include <cassert>
#include <optional>
#include <utility>

#include "util/status.h"

namespace owsync {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result constructed from an OK status without a value");
    if (status_.ok()) status_ = Status::Internal("Result constructed from OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace owsync

// Evaluates `rexpr` (a Result<T>); on error returns its Status, else moves the value into `lhs`
// (a declaration like `auto x` or an existing variable).
#define OWSYNC_ASSIGN_OR_RETURN(lhs, rexpr) \
  OWSYNC_ASSIGN_OR_RETURN_IMPL_(OWSYNC_CONCAT_(owsync_result_, __LINE__), lhs, rexpr)
#define OWSYNC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                  \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()

#endif  // OWSYNC_UTIL_RESULT_H_
