#include "cli/workload_generator.h"

#include <algorithm>
#include <map>

#include "cli/sqlite_handle.h"
#include "cli/workload_key_cache.h"
#include "cli/workload_random.h"
#include "cli/workload_schema.h"
#include "cli/workload_values.h"

namespace owsync::cli {
namespace {

using outbox::Value;
using Key = std::vector<Value>;

// Tables the generator never writes (the application does not either, in normal operation).
const std::vector<std::string> kUntouchedTables = {"alembic_version", "migratehistory"};

enum class Op { kInsert, kUpdate, kUpsert, kKeyChange, kReplace, kCollision, kDelete };

struct Step {
  Op op = Op::kInsert;
  std::string table;
  std::string sql;
  std::vector<Value> binds;
  Key key;      // the row's key (the new one for inserts)
  Key new_key;  // kKeyChange: the key after the change
  Key victim;   // kCollision: the row whose UNIQUE values are copied
  int odd = 0;
  // Filled in by execution.
  int changes = 0;
  bool victim_gone = false;
};

enum class Outcome { kCommitted, kConstraint, kSchemaChanged };

std::string WhereKey(const WorkloadTable& t) {
  std::string out;
  for (int k : t.key) {
    if (!out.empty()) out += " AND ";
    out += QuoteIdentifier(t.columns[k].name) + " = ?";
  }
  return out;
}

std::string ColumnList(const WorkloadTable& t) {
  std::string out;
  for (const WorkloadColumn& c : t.columns) {
    if (!out.empty()) out += ", ";
    out += QuoteIdentifier(c.name);
  }
  return out;
}

int TableWeight(const std::string& name) {
  if (name == "chat" || name == "message" || name == "chat_message") return 4;
  return 1;
}

}  // namespace

class WorkloadGenerator::Impl {
 public:
  Impl(FileSystem* fs, Clock* clock, const WorkloadOptions& options)
      : fs_(fs),
        clock_(clock),
        options_(options),
        rng_(options.seed),
        values_(&rng_, options.odd_rate) {}

  Status Open() {
    OWSYNC_ASSIGN_OR_RETURN(db_, OpenSqlite(options_.db_path, false, options_.busy_timeout_ms));
    if (!options_.journal_mode.empty()) {
      OWSYNC_RETURN_IF_ERROR(ExecSqlite(db_.get(), "PRAGMA journal_mode=" + options_.journal_mode));
    }
    if (!options_.synchronous.empty()) {
      OWSYNC_RETURN_IF_ERROR(ExecSqlite(db_.get(), "PRAGMA synchronous=" + options_.synchronous));
    }
    if (!options_.victims_path.empty()) {
      OWSYNC_ASSIGN_OR_RETURN(victims_file_, fs_->NewAppendableFile(options_.victims_path));
    }
    return CheckSchema();
  }

  Status Run(const std::atomic<bool>* stop) {
    const int64_t start = clock_->MonotonicMicros();
    auto stopped = [&](int64_t n) {
      if (stop != nullptr && stop->load()) return true;
      if (options_.max_transactions > 0 && n >= options_.max_transactions) return true;
      int64_t elapsed = clock_->MonotonicMicros() - start;
      return options_.max_seconds > 0 && static_cast<double>(elapsed) >= options_.max_seconds * 1e6;
    };
    for (int64_t n = 0; !stopped(n); ++n) {
      if (options_.rate > 0) {
        // Paced: transaction n is due at n / rate seconds; sleep in slices so stop is seen.
        int64_t due = static_cast<int64_t>(static_cast<double>(n) * 1e6 / options_.rate);
        int64_t wait;
        while ((wait = due - (clock_->MonotonicMicros() - start)) > 0 && !stopped(n)) {
          clock_->SleepForMicros(std::min<int64_t>(wait, 50'000));
        }
        if (stopped(n)) break;
      }
      OWSYNC_RETURN_IF_ERROR(RunTransaction());
    }
    return Status::OK();
  }

  Status RunTransaction() {
    for (int replans = 0;; ++replans) {
      Status schema = CheckSchema();
      for (int busy = 0; !schema.ok() && schema.code() == StatusCode::kBusy && busy < 100; ++busy) {
        ++counts_.busy_retries;
        clock_->SleepForMicros(10'000);
        schema = CheckSchema();
      }
      OWSYNC_RETURN_IF_ERROR(schema);
      if (schema_.tables().empty()) {
        return Status::FailedPrecondition("workload: the database has no table with a key");
      }
      std::vector<Step> plan = Plan();
      OWSYNC_ASSIGN_OR_RETURN(Outcome outcome, Execute(&plan));
      if (outcome == Outcome::kSchemaChanged) {
        if (replans >= 20) return Status::Internal("workload: schema keeps changing under us");
        schema_version_ = -1;  // force a reload
        continue;
      }
      ++planned_;
      if (outcome == Outcome::kCommitted) return ApplyEffects(plan);
      ++counts_.constraint_rollbacks;
      return Status::OK();
    }
  }

  WorkloadCounts counts_;
  std::vector<WorkloadVictim> victims_;

 private:
  Status CheckSchema() {
    OWSYNC_ASSIGN_OR_RETURN(int64_t version, QueryInt(db_.get(), "PRAGMA schema_version"));
    if (version == schema_version_) return Status::OK();
    OWSYNC_ASSIGN_OR_RETURN(WorkloadSchema fresh,
                            WorkloadSchema::Load(db_.get(), kUntouchedTables));
    statements_.clear();
    for (const WorkloadTable& t : schema_.tables()) {
      if (fresh.Find(t.name) == nullptr) keys_.DropTable(t.name);
    }
    for (const WorkloadTable& t : fresh.tables()) {
      const WorkloadTable* old = schema_.Find(t.name);
      if (old == nullptr || old->signature != t.signature) {
        OWSYNC_RETURN_IF_ERROR(keys_.Load(db_.get(), t));
      }
    }
    schema_ = std::move(fresh);
    schema_version_ = version;
    ++counts_.schema_reloads;
    return Status::OK();
  }

  const WorkloadTable& PickTable(bool need_secondary_unique) {
    int total = 0;
    for (const WorkloadTable& t : schema_.tables()) {
      if (!need_secondary_unique || UsableUnique(t) >= 0) total += TableWeight(t.name);
    }
    int pick = static_cast<int>(rng_.Uniform(std::max(total, 1)));
    for (const WorkloadTable& t : schema_.tables()) {
      if (need_secondary_unique && UsableUnique(t) < 0) continue;
      pick -= TableWeight(t.name);
      if (pick < 0) return t;
    }
    return schema_.tables().front();
  }

  // Index of a secondary UNIQUE constraint without key columns, or -1.
  int UsableUnique(const WorkloadTable& t) const {
    for (size_t i = 0; i < t.secondary_uniques.size(); ++i) {
      const auto& cols = t.secondary_uniques[i];
      if (std::none_of(cols.begin(), cols.end(), [&](int c) { return t.IsKeyColumn(c); })) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  Value ColumnValue(const WorkloadTable& t, int c, Step* step) {
    bool odd = false;
    Value v = values_.ForColumn(t, c, 1'760'000'000 + planned_, &odd);
    if (odd) ++step->odd;
    return v;
  }

  std::vector<Step> Plan() {
    std::vector<Step> plan;
    int n = rng_.Chance(0.7) ? 1 : static_cast<int>(rng_.Range(2, 5));
    for (int i = 0; i < n; ++i) {
      uint64_t r = rng_.Uniform(100);
      Op op = r < 34   ? Op::kInsert
              : r < 60 ? Op::kUpdate
              : r < 65 ? Op::kUpsert
              : r < 70 ? Op::kKeyChange
              : r < 76 ? Op::kReplace
              : r < 83 ? Op::kCollision
                       : Op::kDelete;
      const WorkloadTable& t = PickTable(op == Op::kCollision);
      if (op == Op::kCollision && UsableUnique(t) < 0) op = Op::kInsert;
      if (op != Op::kInsert && keys_.Size(t.name) == 0) op = Op::kInsert;
      if (op == Op::kUpdate && t.key.size() == t.columns.size()) op = Op::kReplace;
      plan.push_back(PlanStep(op, t));
    }
    return plan;
  }

  Step PlanStep(Op op, const WorkloadTable& t) {
    Step s;
    s.op = op;
    s.table = t.name;
    const std::string table = QuoteIdentifier(t.name);
    auto bind_row = [&](const Key& key) {
      for (size_t c = 0; c < t.columns.size(); ++c) {
        if (t.IsKeyColumn(static_cast<int>(c))) {
          auto pos = std::find(t.key.begin(), t.key.end(), static_cast<int>(c)) - t.key.begin();
          s.binds.push_back(key[pos]);
        } else {
          s.binds.push_back(ColumnValue(t, static_cast<int>(c), &s));
        }
      }
    };
    std::string placeholders;
    for (size_t c = 0; c < t.columns.size(); ++c) placeholders += c == 0 ? "?" : ", ?";
    switch (op) {
      case Op::kInsert:
        s.key = values_.NewKey(t);
        s.sql = "INSERT INTO " + table + " (" + ColumnList(t) + ") VALUES (" + placeholders + ")";
        bind_row(s.key);
        break;
      case Op::kReplace:
        s.key = keys_.Pick(t.name, &rng_);
        s.sql = "INSERT OR REPLACE INTO " + table + " (" + ColumnList(t) + ") VALUES (" +
                placeholders + ")";
        bind_row(s.key);
        break;
      case Op::kUpsert: {
        s.key = rng_.Chance(0.5) ? keys_.Pick(t.name, &rng_) : values_.NewKey(t);
        std::string conflict, set;
        for (int k : t.key)
          conflict += (conflict.empty() ? "" : ", ") + QuoteIdentifier(t.columns[k].name);
        for (size_t c = 0; c < t.columns.size(); ++c) {
          if (t.IsKeyColumn(static_cast<int>(c))) continue;
          std::string q = QuoteIdentifier(t.columns[c].name);
          set += (set.empty() ? "" : ", ") + q + " = excluded." + q;
        }
        s.sql = "INSERT INTO " + table + " (" + ColumnList(t) + ") VALUES (" + placeholders +
                ") ON CONFLICT (" + conflict + ") DO " +
                (set.empty() ? "NOTHING" : "UPDATE SET " + set);
        bind_row(s.key);
        break;
      }
      case Op::kUpdate: {
        s.key = keys_.Pick(t.name, &rng_);
        std::vector<int> candidates;
        for (size_t c = 0; c < t.columns.size(); ++c) {
          if (!t.IsKeyColumn(static_cast<int>(c))) candidates.push_back(static_cast<int>(c));
        }
        int n = static_cast<int>(rng_.Range(1, std::min<int64_t>(3, candidates.size())));
        for (int i = 0; i < n; ++i) {
          size_t j = i + rng_.Uniform(candidates.size() - i);
          std::swap(candidates[i], candidates[j]);
        }
        candidates.resize(n);
        std::sort(candidates.begin(), candidates.end());  // fewer distinct statements
        std::string set;
        for (int c : candidates) {
          set += (set.empty() ? "" : ", ") + QuoteIdentifier(t.columns[c].name) + " = ?";
          s.binds.push_back(ColumnValue(t, c, &s));
        }
        s.sql = "UPDATE " + table + " SET " + set + " WHERE " + WhereKey(t);
        s.binds.insert(s.binds.end(), s.key.begin(), s.key.end());
        break;
      }
      case Op::kKeyChange: {
        s.key = keys_.Pick(t.name, &rng_);
        size_t pos = 0;  // change the first key column that is not a user id
        while (pos + 1 < t.key.size() && t.columns[t.key[pos]].name == "user_id") ++pos;
        s.new_key = s.key;
        s.new_key[pos] = values_.NewKeyValue(t, t.key[pos]);
        s.sql = "UPDATE " + table + " SET " + QuoteIdentifier(t.columns[t.key[pos]].name) +
                " = ? WHERE " + WhereKey(t);
        s.binds.push_back(s.new_key[pos]);
        s.binds.insert(s.binds.end(), s.key.begin(), s.key.end());
        break;
      }
      case Op::kCollision: {
        s.key = values_.NewKey(t);
        s.victim = keys_.Pick(t.name, &rng_);
        const std::vector<int>& unique = t.secondary_uniques[UsableUnique(t)];
        std::string vals;
        for (size_t c = 0; c < t.columns.size(); ++c) {
          vals += c == 0 ? "" : ", ";
          int ci = static_cast<int>(c);
          if (std::find(unique.begin(), unique.end(), ci) != unique.end()) {
            vals += "(SELECT " + QuoteIdentifier(t.columns[c].name) + " FROM " + table + " WHERE " +
                    WhereKey(t) + ")";
            s.binds.insert(s.binds.end(), s.victim.begin(), s.victim.end());
          } else if (t.IsKeyColumn(ci)) {
            vals += "?";
            s.binds.push_back(s.key[std::find(t.key.begin(), t.key.end(), ci) - t.key.begin()]);
          } else {
            vals += "?";
            s.binds.push_back(ColumnValue(t, ci, &s));
          }
        }
        s.sql =
            "INSERT OR REPLACE INTO " + table + " (" + ColumnList(t) + ") VALUES (" + vals + ")";
        break;
      }
      case Op::kDelete:
        s.key = keys_.Pick(t.name, &rng_);
        s.sql = "DELETE FROM " + table + " WHERE " + WhereKey(t);
        s.binds = s.key;
        break;
    }
    return s;
  }

  Result<sqlite3_stmt*> Statement(const std::string& sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      if (statements_.size() >= 512) statements_.clear();
      OWSYNC_ASSIGN_OR_RETURN(SqliteStmt stmt, PrepareSqlite(db_.get(), sql));
      it = statements_.emplace(sql, std::move(stmt)).first;
    }
    return it->second.get();
  }

  // Runs one statement: SQLite's result code (SQLITE_DONE on success, SQLITE_SCHEMA when it no
  // longer prepares because the schema changed since we planned). `*first` gets the first
  // column of a row it returns.
  Result<int> RunStatement(const std::string& sql, const std::vector<Value>& binds,
                           int64_t* first) {
    auto stmt = Statement(sql);
    if (!stmt.ok()) {
      OWSYNC_ASSIGN_OR_RETURN(int64_t version, QueryInt(db_.get(), "PRAGMA schema_version"));
      if (version != schema_version_) return SQLITE_SCHEMA;
      return stmt.status();
    }
    for (size_t i = 0; i < binds.size(); ++i) {
      OWSYNC_RETURN_IF_ERROR(BindValue(*stmt, static_cast<int>(i + 1), binds[i]));
    }
    int rc = sqlite3_step(*stmt);
    if (rc == SQLITE_ROW && first != nullptr) *first = sqlite3_column_int64(*stmt, 0);
    while (rc == SQLITE_ROW) rc = sqlite3_step(*stmt);
    if (rc != SQLITE_DONE) rc = sqlite3_extended_errcode(db_.get());
    sqlite3_reset(*stmt);
    sqlite3_clear_bindings(*stmt);
    return rc;
  }

  int Exec(const char* sql) {
    return sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) == SQLITE_OK
               ? SQLITE_DONE
               : sqlite3_extended_errcode(db_.get());
  }

  // Counts the rows of `table` with key `key` into *count; SQLite's result code.
  Result<int> CountRows(const std::string& table, const Key& key, int64_t* count) {
    const WorkloadTable* t = schema_.Find(table);
    return RunStatement("SELECT count(*) FROM " + QuoteIdentifier(table) + " WHERE " + WhereKey(*t),
                        key, count);
  }

  Result<Outcome> Execute(std::vector<Step>* plan) {
    bool txn = plan->size() > 1 || plan->front().op == Op::kCollision;
    for (int attempt = 0;; ++attempt) {
      int rc = txn ? Exec("BEGIN") : SQLITE_DONE;
      for (Step& s : *plan) {
        if (rc != SQLITE_DONE) break;
        int64_t before = 0;
        if (s.op == Op::kCollision) {
          OWSYNC_ASSIGN_OR_RETURN(rc, CountRows(s.table, s.victim, &before));
          if (rc != SQLITE_DONE) break;
        }
        OWSYNC_ASSIGN_OR_RETURN(rc, RunStatement(s.sql, s.binds, nullptr));
        if (rc != SQLITE_DONE) break;
        s.changes = sqlite3_changes(db_.get());
        if (s.op == Op::kCollision) {
          int64_t after = 0;
          OWSYNC_ASSIGN_OR_RETURN(rc, CountRows(s.table, s.victim, &after));
          s.victim_gone = before > 0 && after == 0;
        }
      }
      if (txn && rc == SQLITE_DONE) {
        rc = Exec("COMMIT");
      }
      if (rc == SQLITE_DONE) return Outcome::kCommitted;
      std::string error = sqlite3_errmsg(db_.get());
      if (!sqlite3_get_autocommit(db_.get())) {
        sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      }
      int primary = rc & 0xff;
      if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        ++counts_.busy_retries;
        if (attempt >= 200) return SqliteStatus(db_.get(), rc, "workload: still busy");
        clock_->SleepForMicros(1000 * std::min(attempt + 1, 50));
        continue;
      }
      if (primary == SQLITE_CONSTRAINT) {
        counts_.last_constraint_error = error;
        return Outcome::kConstraint;
      }
      if (primary == SQLITE_SCHEMA || primary == SQLITE_ERROR) {
        OWSYNC_ASSIGN_OR_RETURN(int64_t version, QueryInt(db_.get(), "PRAGMA schema_version"));
        if (primary == SQLITE_SCHEMA || version != schema_version_) return Outcome::kSchemaChanged;
      }
      return SqliteStatus(db_.get(), rc, "workload transaction");
    }
  }

  Status ApplyEffects(const std::vector<Step>& plan) {
    ++counts_.transactions;
    for (const Step& s : plan) {
      ++counts_.statements;
      counts_.odd_values += s.odd;
      counts_.rows_changed += s.changes;
      switch (s.op) {
        case Op::kInsert:
          ++counts_.inserts;
          keys_.Add(s.table, s.key);
          break;
        case Op::kUpsert:
          ++counts_.upserts;
          keys_.Add(s.table, s.key);
          break;
        case Op::kReplace:
          ++counts_.replaces;
          keys_.Add(s.table, s.key);
          break;
        case Op::kUpdate:
          ++counts_.updates;
          if (s.changes == 0) keys_.Remove(s.table, s.key);
          break;
        case Op::kKeyChange:
          ++counts_.key_changes;
          keys_.Remove(s.table, s.key);
          if (s.changes > 0) keys_.Add(s.table, s.new_key);
          break;
        case Op::kDelete:
          ++counts_.deletes;
          keys_.Remove(s.table, s.key);
          break;
        case Op::kCollision:
          ++counts_.replace_collisions;
          keys_.Add(s.table, s.key);
          if (s.victim_gone) {
            ++counts_.replace_victims;
            keys_.Remove(s.table, s.victim);
            WorkloadVictim v{s.table, s.victim};
            if (victims_file_ != nullptr) {
              OWSYNC_RETURN_IF_ERROR(victims_file_->Append(FormatVictim(v) + "\n"));
            }
            victims_.push_back(std::move(v));
          }
          break;
      }
    }
    return Status::OK();
  }

  FileSystem* fs_;
  Clock* clock_;
  WorkloadOptions options_;
  WorkloadRandom rng_;
  WorkloadValues values_;
  SqliteDb db_;
  std::unique_ptr<WritableFile> victims_file_;
  std::map<std::string, SqliteStmt> statements_;  // declared after db_: finalized first
  WorkloadSchema schema_;
  WorkloadKeyCache keys_;
  int64_t schema_version_ = -1;
  int64_t planned_ = 0;
};

WorkloadGenerator::WorkloadGenerator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WorkloadGenerator::~WorkloadGenerator() = default;

Result<std::unique_ptr<WorkloadGenerator>> WorkloadGenerator::Open(FileSystem* fs, Clock* clock,
                                                                   const WorkloadOptions& options) {
  auto impl = std::make_unique<Impl>(fs, clock, options);
  OWSYNC_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<WorkloadGenerator>(new WorkloadGenerator(std::move(impl)));
}

Status WorkloadGenerator::Run(const std::atomic<bool>* stop) { return impl_->Run(stop); }
Status WorkloadGenerator::RunTransaction() { return impl_->RunTransaction(); }
const WorkloadCounts& WorkloadGenerator::counts() const { return impl_->counts_; }
const std::vector<WorkloadVictim>& WorkloadGenerator::victims() const { return impl_->victims_; }

}  // namespace owsync::cli
