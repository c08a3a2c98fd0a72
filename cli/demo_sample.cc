#include "cli/demo_sample.h"

#include <vector>

#include "cli/sqlite_handle.h"
#include "cli/workload_generator.h"
#include "cli/workload_random.h"
#include "cli/workload_schema.h"
#include "cli/workload_values.h"

namespace owsync::cli {
namespace {

using outbox::Value;

// INSERT INTO "table" ("c1", ...) VALUES (?, ...).
std::string InsertSql(const WorkloadTable& t) {
  std::string cols;
  std::string marks;
  for (const WorkloadColumn& c : t.columns) {
    if (!cols.empty()) {
      cols += ", ";
      marks += ", ";
    }
    cols += "\"" + c.name + "\"";
    marks += "?";
  }
  return "INSERT INTO \"" + t.name + "\" (" + cols + ") VALUES (" + marks + ")";
}

int ColumnIndex(const WorkloadTable& t, const std::string& name) {
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (t.columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

// One row of `t`: its key from `key`, `fixed` (column index -> value), the rest generated.
std::vector<Value> MakeRow(const WorkloadTable& t, WorkloadValues* values, int64_t now,
                           const std::vector<Value>& key, int fixed_column,
                           const Value& fixed_value, int64_t* json_bytes) {
  std::vector<Value> row(t.columns.size());
  for (size_t k = 0; k < t.key.size(); ++k) row[t.key[k]] = key[k];
  for (int c = 0; c < static_cast<int>(t.columns.size()); ++c) {
    if (t.IsKeyColumn(c)) continue;
    if (c == fixed_column) {
      row[c] = fixed_value;
      continue;
    }
    bool odd = false;
    row[c] = values->ForColumn(t, c, now, &odd);
    if (json_bytes != nullptr && t.columns[c].name == "chat") {
      *json_bytes += static_cast<int64_t>(row[c].bytes.size());
    }
  }
  return row;
}

Status Insert(sqlite3* db, sqlite3_stmt* stmt, const std::vector<Value>& row) {
  sqlite3_reset(stmt);
  for (size_t i = 0; i < row.size(); ++i) {
    OWSYNC_RETURN_IF_ERROR(BindValue(stmt, static_cast<int>(i) + 1, row[i]));
  }
  const int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return SqliteStatus(db, rc, "inserting a sample row");
  return Status::OK();
}

}  // namespace

Result<DemoSampleReport> DemoSample::Create(FileSystem* fs, Clock* clock,
                                            const DemoSampleOptions& options,
                                            const std::atomic<bool>* stop) {
  DemoSampleReport report;
  OWSYNC_RETURN_IF_ERROR(WorkloadGenerator::InitDatabase(options.path, "v0.11.0", "wal"));
  {
    WorkloadOptions wo;
    wo.db_path = options.path;
    wo.seed = options.seed;
    wo.max_transactions = options.general;
    wo.synchronous = "normal";
    wo.odd_rate = options.odd_rate;
    OWSYNC_ASSIGN_OR_RETURN(std::unique_ptr<WorkloadGenerator> general,
                            WorkloadGenerator::Open(fs, clock, wo));
    OWSYNC_RETURN_IF_ERROR(general->Run(stop));
    report.general_transactions = general->counts().transactions;
    report.general_rows = general->counts().rows_changed;
  }
  if (stop->load()) return Status::Aborted("interrupted");

  OWSYNC_ASSIGN_OR_RETURN(SqliteDb db, OpenSqlite(options.path, false, 5000));
  OWSYNC_RETURN_IF_ERROR(ExecSqlite(db.get(), "PRAGMA synchronous=NORMAL"));
  OWSYNC_ASSIGN_OR_RETURN(WorkloadSchema schema, WorkloadSchema::Load(db.get(), {}));
  const WorkloadTable* chat = schema.Find("chat");
  const WorkloadTable* message = schema.Find("chat_message");
  if (chat == nullptr || message == nullptr) {
    return Status::Internal("the v0.11.0 fixture has no chat or chat_message table");
  }
  const int chat_id_column = ColumnIndex(*message, "chat_id");
  if (chat->key.size() != 1 || chat_id_column < 0) {
    return Status::Internal("unexpected chat / chat_message shape in the fixture");
  }
  OWSYNC_ASSIGN_OR_RETURN(SqliteStmt insert_chat, PrepareSqlite(db.get(), InsertSql(*chat)));
  OWSYNC_ASSIGN_OR_RETURN(SqliteStmt insert_message, PrepareSqlite(db.get(), InsertSql(*message)));
  WorkloadRandom rng(options.seed ^ 0x5eed);
  WorkloadValues values(&rng, options.odd_rate);
  const int64_t now = clock->NowMicros() / 1'000'000;
  for (int64_t i = 0; i < options.chats; ++i) {
    if (stop->load()) return Status::Aborted("interrupted");
    const std::vector<Value> chat_key = values.NewKey(*chat);
    OWSYNC_RETURN_IF_ERROR(ExecSqlite(db.get(), "BEGIN IMMEDIATE"));
    Status s =
        Insert(db.get(), insert_chat.get(),
               MakeRow(*chat, &values, now, chat_key, -1, Value::Null(), &report.chat_json_bytes));
    for (int m = 0; s.ok() && m < options.messages_per_chat; ++m) {
      s = Insert(db.get(), insert_message.get(),
                 MakeRow(*message, &values, now, values.NewKey(*message), chat_id_column,
                         chat_key[0], nullptr));
    }
    if (!s.ok()) {
      (void)ExecSqlite(db.get(), "ROLLBACK");
      return s;
    }
    OWSYNC_RETURN_IF_ERROR(ExecSqlite(db.get(), "COMMIT"));
    ++report.chats;
    report.messages += options.messages_per_chat;
  }
  insert_chat.reset();
  insert_message.reset();
  db.reset();
  for (const char* suffix : {"", "-wal"}) {
    const std::string file = options.path + std::string(suffix);
    if (fs->FileExists(file)) report.database_bytes += fs->GetFileSize(file).value_or(0);
  }
  return report;
}

}  // namespace owsync::cli
