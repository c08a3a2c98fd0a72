// GenerationGuard: decides whether the tenant database and the outbox still belong together.
//
// The database carries, in _owsync_meta, a generation id and the id of the outbox it feeds;
// the outbox carries a database generation and its own id. Capture also knows two seq
// positions: the database's changelog counter (sqlite_sequence: the highest seq ever drawn,
// never reused) and the outbox's high water (the highest changelog seq the outbox records
// carry: change records their own seq, schema and snapshot begin/end records the counter
// capture had seen when writing them). Rules, in order:
//   1. The database has no identity (never captured, or capture was uninstalled):
//      an empty outbox is adopted (first capture: full snapshot); a non-empty one means the
//      outbox belongs to something else -> new generation.
//   2. Generation ids differ -> new generation (a restored or replaced database, or an outbox
//      that another database fed).
//   3. Outbox ids differ -> new generation (a recreated or different outbox).
//   4. changelog counter < outbox high water -> new generation: the database is older than
//      what the outbox already holds (a backup restored in place keeps its ids, but its
//      counter went back).
//   5. Otherwise resume.
// A new generation means: OutboxWriter::StartNewGeneration (old segments kept aside), new ids
// in _owsync_meta, and a full snapshot of every replicated table. Changes are never skipped
// because of seq numbers; pending changelog entries drain normally into the new generation.
#ifndef OWSYNC_CAPTURE_GENERATION_GUARD_H_
#define OWSYNC_CAPTURE_GENERATION_GUARD_H_

#include <cstdint>
#include <optional>
#include <string>

namespace owsync::capture {

struct IdentityFacts {
  std::optional<std::string> meta_generation;
  std::optional<std::string> meta_outbox_id;
  std::string outbox_generation;
  std::string outbox_id;
  bool outbox_empty = false;
  int64_t changelog_counter = 0;
  int64_t outbox_high_water = 0;  // 0 when unknown
};

enum class IdentityVerdict { kResume, kAdopt, kNewGeneration };

struct IdentityDecision {
  IdentityVerdict verdict = IdentityVerdict::kResume;
  std::string reason;
};

class GenerationGuard {
 public:
  static IdentityDecision Decide(const IdentityFacts& facts);
  // A fresh random 128-bit id, as 32 hex digits.
  static std::string NewId();
};

}  // namespace owsync::capture

#endif  // OWSYNC_CAPTURE_GENERATION_GUARD_H_
