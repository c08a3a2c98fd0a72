// PgType: the PostgreSQL type of a replicated column (canonical/target_type.h is the one
// mapping; these are its names in the shipper's code).
#ifndef OWSYNC_SHIPPER_PG_TYPE_H_
#define OWSYNC_SHIPPER_PG_TYPE_H_

#include <string_view>

#include "canonical/target_type.h"

namespace owsync::shipper {

using PgType = canonical::TargetType;

inline PgType PgTypeForDeclared(std::string_view declared_type) {
  return canonical::TargetTypeForDeclared(declared_type);
}
inline PgType PgTypeFromFormatType(std::string_view format_type) {
  return canonical::TargetTypeFromFormatType(format_type);
}
inline std::string_view PgTypeSql(PgType type) { return canonical::TargetTypeSql(type); }
inline bool PgTypeIsToastable(PgType type) { return canonical::TargetTypeIsToastable(type); }

}  // namespace owsync::shipper

#endif  // OWSYNC_SHIPPER_PG_TYPE_H_
