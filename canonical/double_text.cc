#include "canonical/double_text.h"

#include <charconv>
#include <cmath>

namespace owsync::canonical {

void AppendDoubleText(double d, std::string* out) {
  if (std::isnan(d)) {
    out->append("NaN");
  } else if (std::isinf(d)) {
    out->append(d > 0 ? "Infinity" : "-Infinity");
  } else {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof(buf), d);
    out->append(buf, static_cast<size_t>(r.ptr - buf));
  }
}

}  // namespace owsync::canonical
