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
//   4. Drain tokens (DrainToken, docs/capture.md). With the database's drain token X, its
//      prev token P and the token Y of the outbox's last durable record:
//        Y empty (an outbox written before tokens, or empty) -> no verdict here (rule 5);
//        X == Y -> go on (the last read's records are durable; if the crash came before the
//                  changelog delete, its entries are drained again, which is harmless);
//        P == Y -> go on (a crash after a rotation, before its records were durable: the
//                  batch's changelog entries are still in the database);
//        otherwise -> new generation: the database is not the one the outbox followed
//                  (a backup restored while capture was stopped, even if the application
//                  wrote enough since to push the changelog counter past rule 5's mark).
//   5. changelog counter < outbox high water -> new generation: the database is older than
//      what the outbox already holds (a backup restored in place keeps its ids, but its
//      counter went back). Seq numbers can be reused across timelines, so this rule alone
//      misses a restore followed by new writes; rule 4 catches those.
//   6. Otherwise resume.
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
  int64_t outbox_high_water = 0;               // 0 when unknown
  std::optional<std::string> meta_token;       // _owsync_meta drain_token
  std::optional<std::string> meta_prev_token;  // _owsync_meta prev_drain_token
  std::string outbox_token;                    // "" when unknown (no token in the outbox)
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
