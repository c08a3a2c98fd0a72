#include "capture/verify_scheduler.h"

#include <fmt/format.h>

#include <algorithm>

#include "canonical/row_digest.h"
#include "canonical/target_type.h"
#include "capture/capture_meta.h"
#include "capture/drain_token.h"
#include "capture/sql_quote.h"
#include "capture/sqlite_txn.h"
#include "capture/table_queries.h"
#include "outbox/record_codec.h"
#include "outbox/verify_range.h"
#include "util/hex.h"

namespace owsync::capture {
namespace {

constexpr char kPassStarted[] = "verify:pass_started";  // unix micros of the pass's start
constexpr char kCursor[] = "verify:cursor";             // EncodeCursor; "" = pass over

std::string Upper(std::string s) {
  for (char& c : s) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return s;
}

// Whether PostgreSQL orders the table's keys as SQLite does: numbers, or text with TEXT
// affinity compared bytewise (BINARY, which is PostgreSQL's "C" collation on UTF-8).
bool RangeComparable(const TableInfo& t) {
  for (size_t i = 0; i < t.key_columns.size(); ++i) {
    const outbox::Column& c = t.columns[static_cast<size_t>(t.key_columns[i])];
    const canonical::TargetType f = canonical::TargetTypeForDeclared(c.declared_type);
    if (f == canonical::TargetType::kBigint || f == canonical::TargetType::kDouble ||
        f == canonical::TargetType::kNumeric || f == canonical::TargetType::kBoolean) {
      continue;
    }
    const std::string d = Upper(c.declared_type);
    const bool text_affinity =
        d.find("INT") == std::string::npos &&
        (d.find("CHAR") != std::string::npos || d.find("CLOB") != std::string::npos ||
         d.find("TEXT") != std::string::npos);
    const std::string coll = i < t.key_collations.size() ? t.key_collations[i] : "BINARY";
    if (f != canonical::TargetType::kText || !text_affinity || !IdentifierEquals(coll, "BINARY")) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> DeclaredTypes(const TableInfo& t) {
  std::vector<std::string> out;
  for (const auto& c : t.columns) out.push_back(c.declared_type);
  return out;
}

}  // namespace

VerifyScheduler::VerifyScheduler(SqliteDb* db, RecordEmitter* emitter, Clock* clock, Logger* logger,
                                 VerifyOptions options)
    : db_(db), emitter_(emitter), clock_(clock), logger_(logger), options_(options) {
  if (options_.chunk_rows == 0) options_.chunk_rows = 1;
  tokens_ = static_cast<double>(options_.chunk_rows);  // the first chunk may run at once
  refilled_at_ = clock_->MonotonicMicros();
}

std::string VerifyScheduler::EncodeCursor(const Cursor& c) {
  if (c.table.empty()) return "";
  std::string key;
  if (!c.after.empty()) {
    outbox::Record r;
    r.type = outbox::RecordType::kDelete;
    r.key = c.after;
    outbox::EncodeRecord(r, &key);
  }
  return HexEncode(c.table) + ":" + HexEncode(key);
}

Result<VerifyScheduler::Cursor> VerifyScheduler::DecodeCursor(const std::string& text) {
  Cursor c;
  if (text.empty()) return c;
  const size_t colon = text.find(':');
  std::string key;
  if (colon == std::string::npos || !HexDecode(text.substr(0, colon), &c.table) ||
      !HexDecode(text.substr(colon + 1), &key)) {
    return Status::Corruption("malformed verify cursor in _owsync_meta");
  }
  if (!key.empty()) {
    outbox::Record r;
    OWSYNC_RETURN_IF_ERROR(outbox::DecodeRecord(key, &r));
    c.after = std::move(r.key);
  }
  return c;
}

Status VerifyScheduler::Load() {
  OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginRead(db_));
  CaptureMeta meta(db_);
  OWSYNC_ASSIGN_OR_RETURN(std::optional<std::string> started, meta.Get(kPassStarted));
  OWSYNC_ASSIGN_OR_RETURN(std::optional<std::string> cursor, meta.Get(kCursor));
  OWSYNC_RETURN_IF_ERROR(txn.Commit());
  pass_started_ = started ? std::strtoll(started->c_str(), nullptr, 10) : 0;
  auto decoded = DecodeCursor(cursor.value_or(""));
  cursor_ = decoded.ok() ? *decoded : Cursor{};  // a bad cursor starts the table list over
  pass_active_ = !cursor_.table.empty();
  loaded_ = true;
  return Status::OK();
}

void VerifyScheduler::Refill() {
  const int64_t now = clock_->MonotonicMicros();
  tokens_ = std::min<double>(tokens_ + options_.rows_per_second * (now - refilled_at_) / 1e6,
                             static_cast<double>(options_.chunk_rows));
  refilled_at_ = now;
}

bool VerifyScheduler::Due() const {
  if (options_.interval_micros <= 0) return false;
  if (!loaded_) return true;
  if (!pass_active_ && pass_started_ != 0 &&
      clock_->NowMicros() < pass_started_ + options_.interval_micros) {
    return false;
  }
  const double tokens =
      tokens_ + options_.rows_per_second * (clock_->MonotonicMicros() - refilled_at_) / 1e6;
  return tokens >= static_cast<double>(options_.chunk_rows);
}

const TableInfo* VerifyScheduler::CurrentTable(const Catalog& catalog,
                                               const std::set<std::string>& snapshots) {
  while (!cursor_.table.empty()) {
    const TableInfo* t = catalog.FindReplicable(cursor_.table);
    if (t != nullptr && snapshots.count(t->name) == 0) return t;
    // Gone, or owing a snapshot (which carries it anew): on to the next table by name.
    const std::string passed = cursor_.table;
    cursor_ = Cursor{};
    for (const TableInfo* next : catalog.Replicable()) {
      if (next->name > passed) {
        cursor_.table = next->name;
        break;
      }
    }
  }
  return nullptr;
}

Result<bool> VerifyScheduler::Step(const Catalog& catalog, const std::set<std::string>& snapshots) {
  if (options_.interval_micros <= 0) return false;
  if (!loaded_) OWSYNC_RETURN_IF_ERROR(Load());
  Refill();
  if (!pass_active_) {
    const int64_t now = clock_->NowMicros();
    if (pass_started_ != 0 && now < pass_started_ + options_.interval_micros) return false;
    const auto tables = catalog.Replicable();
    if (tables.empty()) return false;
    pass_started_ = now;
    pass_rows_ = 0;
    cursor_ = Cursor{tables.front()->name, {}};
    pass_active_ = true;
    logger_->Info("in-stream verification: a pass over {} table(s) starts ({} rows/s at most)",
                  tables.size(), options_.rows_per_second);
  }
  if (tokens_ < static_cast<double>(options_.chunk_rows)) return false;
  const TableInfo* t = CurrentTable(catalog, snapshots);
  if (t == nullptr) {
    pass_active_ = false;
    const double seconds = (clock_->NowMicros() - pass_started_) / 1e6;
    const bool late = seconds * 1e6 > static_cast<double>(options_.interval_micros);
    logger_->Log(
        late ? LogLevel::kWarn : LogLevel::kInfo,
        fmt::format("in-stream verification: pass done, {} rows in {:.0f} s{}", pass_rows_, seconds,
                    late ? " — longer than the interval: raise --verify-rows-per-sec" : ""));
    return false;
  }
  return VerifyChunk(catalog, *t);
}

Result<bool> VerifyScheduler::VerifyChunk(const Catalog& catalog, const TableInfo& t) {
  OWSYNC_RETURN_IF_ERROR(DrainToken::Settle(emitter_));
  OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginImmediate(db_));
  OWSYNC_ASSIGN_OR_RETURN(int64_t now_version, db_->SchemaVersion());
  if (now_version != catalog.schema_version) return false;  // reconcile first
  // Only with nothing waiting in the changelog is the outbox, up to here, all the database
  // held when it is read now.
  OWSYNC_ASSIGN_OR_RETURN(int64_t waiting,
                          db_->QueryInt64("SELECT EXISTS (SELECT 1 FROM _owsync_changes)"));
  if (waiting != 0) return false;
  OWSYNC_RETURN_IF_ERROR(DrainToken::Rotate(db_, emitter_));
  Cursor next;
  size_t rows = 0;
  Status read = [&]() -> Status {
    const bool first = cursor_.after.empty();
    OWSYNC_ASSIGN_OR_RETURN(
        SqliteStmt stmt,
        db_->Prepare(first ? TableQueries::SelectFirstChunk(t) : TableQueries::SelectNextChunk(t)));
    int param = 1;
    for (const auto& v : cursor_.after) OWSYNC_RETURN_IF_ERROR(stmt.Bind(param++, v));
    OWSYNC_RETURN_IF_ERROR(stmt.BindInt64(param, static_cast<int64_t>(options_.chunk_rows)));
    const std::vector<canonical::TargetType> families =
        canonical::RowDigest::FamiliesOf(DeclaredTypes(t));
    outbox::VerifyRange range;
    range.table = t.name;
    range.columns = t.columns;
    range.lower = cursor_.after;
    range.keys_only = !RangeComparable(t);
    uint64_t bytes = 0;
    bool cut = false;
    std::vector<outbox::Value> row;
    while (true) {
      OWSYNC_ASSIGN_OR_RETURN(bool more, stmt.Step());
      if (!more) break;
      bytes += TableQueries::ReadRow(stmt, 0, t.columns.size(), &row);
      range.entries.push_back(
          {TableQueries::KeyOf(t, row), canonical::RowDigest::Of(families, row)});
      if (range.entries.size() >= options_.chunk_rows || bytes >= options_.chunk_bytes) {
        cut = true;
        break;
      }
    }
    if (cut) {
      range.upper = range.entries.back().key;
      next = Cursor{t.name, range.upper};
    } else {
      for (const TableInfo* n : catalog.Replicable()) {
        if (n->name > t.name) {
          next.table = n->name;
          break;
        }
      }
    }
    outbox::Record record = range.ToRecord();
    OWSYNC_RETURN_IF_ERROR(emitter_->AppendVerify(t, &record).status());
    CaptureMeta meta(db_);
    OWSYNC_RETURN_IF_ERROR(meta.Put(kPassStarted, std::to_string(pass_started_)));
    OWSYNC_RETURN_IF_ERROR(meta.Put(kCursor, EncodeCursor(next)));
    rows = range.entries.size();
    return Status::OK();
  }();
  if (read.ok()) read = txn.Commit();
  if (!read.ok()) {
    emitter_->AbortBatch();
    return read;
  }
  OWSYNC_RETURN_IF_ERROR(emitter_->Commit());
  cursor_ = std::move(next);
  tokens_ -= static_cast<double>(std::max<size_t>(rows, 1));
  pass_rows_ += rows;
  rows_read_ += rows;
  ++ranges_emitted_;
  return true;
}

}  // namespace owsync::capture
