#include "capture/generation_guard.h"

#include <fmt/format.h>

#include <random>

namespace owsync::capture {

IdentityDecision GenerationGuard::Decide(const IdentityFacts& f) {
  if (!f.meta_generation.has_value() || f.meta_generation->empty()) {
    if (f.outbox_empty) return {IdentityVerdict::kAdopt, "first capture of this database"};
    return {IdentityVerdict::kNewGeneration,
            "the database has no capture identity (never captured here, or capture was "
            "uninstalled) but the outbox already holds records"};
  }
  if (*f.meta_generation != f.outbox_generation) {
    return {IdentityVerdict::kNewGeneration,
            fmt::format("database generation {} does not match the outbox's {} (a restored or "
                        "replaced database, or an outbox fed by another database)",
                        *f.meta_generation, f.outbox_generation)};
  }
  if (f.meta_outbox_id.value_or("") != f.outbox_id) {
    return {IdentityVerdict::kNewGeneration,
            fmt::format("the database feeds outbox {} but this outbox is {} (a recreated or "
                        "different outbox)",
                        f.meta_outbox_id.value_or("(none)"), f.outbox_id)};
  }
  if (!f.outbox_token.empty() && f.meta_token.value_or("") != f.outbox_token &&
      f.meta_prev_token.value_or("") != f.outbox_token) {
    return {IdentityVerdict::kNewGeneration,
            fmt::format("the database's drain token {} (previous {}) does not match the token "
                        "{} of the outbox's last records (the database was restored from an "
                        "older copy, or replaced by another one)",
                        f.meta_token.value_or("(none)"), f.meta_prev_token.value_or("(none)"),
                        f.outbox_token)};
  }
  if (f.changelog_counter < f.outbox_high_water) {
    return {IdentityVerdict::kNewGeneration,
            fmt::format("the changelog counter went back to {} while the outbox already holds "
                        "seq {} (the database was restored from an older copy)",
                        f.changelog_counter, f.outbox_high_water)};
  }
  return {IdentityVerdict::kResume, "database and outbox match"};
}

std::string GenerationGuard::NewId() {
  std::random_device rd;  // the kernel's random source
  auto word = [&rd] { return (static_cast<uint64_t>(rd()) << 32) | rd(); };
  uint64_t hi = word();
  uint64_t lo = word();
  return fmt::format("{:016x}{:016x}", hi, lo);
}

}  // namespace owsync::capture
