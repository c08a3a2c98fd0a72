// Test helpers shared by the capture tests (header-only; not part of the library): fixture
// loading, real SQLite databases and outboxes in temporary directories, and Replica, which
// applies outbox records the way the shipper does (full row images keyed by table key;
// kSnapshotEnd drops rows last written before its kSnapshotBegin) so a test can compare the
// outbox with the database row for row.
#ifndef OWSYNC_CAPTURE_CAPTURE_TESTING_H_
#define OWSYNC_CAPTURE_CAPTURE_TESTING_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "capture/capture_meta.h"
#include "capture/capture_options.h"
#include "capture/catalog.h"
#include "capture/changelog.h"
#include "capture/outbox_high_water.h"
#include "capture/sql_quote.h"
#include "capture/sqlite_db.h"
#include "capture/sqlite_txn.h"
#include "capture/table_queries.h"
#include "outbox/outbox_reader.h"
#include "outbox/outbox_writer.h"
#include "outbox/record.h"
#include "util/clock.h"
#include "util/file_system.h"
#include "util/result.h"

namespace owsync::capture::testing {

inline std::string FixturePath(const std::string& name) {
  return std::string(OWSYNC_SOURCE_DIR) + "/tests/fixtures/openwebui/" + name;
}

inline Result<std::string> ReadFixture(FileSystem* fs, const std::string& name) {
  return ReadFileToString(fs, FixturePath(name));
}

// A new database at `path` (journal_mode "wal" or "delete") holding `sql`.
inline Result<SqliteDb> CreateDb(const std::string& path, const std::string& sql,
                                 const std::string& journal_mode = "delete") {
  SqliteDbOptions o;
  o.create = true;
  OWSYNC_ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::Open(path, o));
  OWSYNC_RETURN_IF_ERROR(db.Exec("PRAGMA journal_mode=" + journal_mode));
  // The test application's own commits need not survive a power loss (capture's do).
  OWSYNC_RETURN_IF_ERROR(db.Exec("PRAGMA synchronous=OFF"));
  if (!sql.empty()) {
    OWSYNC_RETURN_IF_ERROR(db.Exec("BEGIN"));
    OWSYNC_RETURN_IF_ERROR(db.Exec(sql));
    OWSYNC_RETURN_IF_ERROR(db.Exec("COMMIT"));
  }
  return db;
}

// Creates capture's own tables (the changelog and _owsync_meta) through `capture`, as
// CaptureLoop::Start does.
inline Status CreateCaptureTables(SqliteDb* capture) {
  OWSYNC_ASSIGN_OR_RETURN(SqliteTxn txn, SqliteTxn::BeginImmediate(capture));
  OWSYNC_RETURN_IF_ERROR(Changelog(capture).Create());
  OWSYNC_RETURN_IF_ERROR(CaptureMeta(capture).Create());
  return txn.Commit();
}

// An application connection to an existing database.
inline Result<SqliteDb> OpenApp(const std::string& path) { return SqliteDb::Open(path, {}); }

inline std::string EncodeKey(const std::vector<outbox::Value>& key) {
  std::string out;
  for (const auto& v : key) {
    out.push_back(static_cast<char>(v.type));
    switch (v.type) {
      case outbox::ValueType::kNull:
        break;
      case outbox::ValueType::kInteger:
        out += std::to_string(v.integer);
        break;
      case outbox::ValueType::kReal:
        out.append(reinterpret_cast<const char*>(&v.real), sizeof(double));
        break;
      default:
        out += std::to_string(v.bytes.size()) + ":" + v.bytes;
    }
    out.push_back('|');
  }
  return out;
}

// Capture options for a database and an outbox directory, with the real outbox writer.
inline CaptureOptions TestOptions(FileSystem* fs, Clock* clock, const std::string& db_path,
                                  const std::string& outbox_dir) {
  CaptureOptions o;
  o.db_path = db_path;
  o.outbox_dir = outbox_dir;
  o.client = "test";
  o.poll_micros = 1000;
  o.open_writer = [fs, clock, outbox_dir](const outbox::OutboxWriterOptions& wo) {
    return outbox::OutboxWriter::Open(fs, clock, outbox_dir, wo);
  };
  o.outbox_high_water = [fs, outbox_dir](const outbox::OutboxWriter& w) {
    return ScanOutboxHighWater(fs, outbox_dir, w.durable_offset(), 4096);
  };
  return o;
}

// Every durable record of the outbox (its current generation).
inline Result<std::vector<outbox::Record>> ReadOutbox(FileSystem* fs, const std::string& dir) {
  OWSYNC_ASSIGN_OR_RETURN(auto reader, outbox::OutboxReader::Open(fs, dir, 0));
  std::vector<outbox::Record> out;
  while (true) {
    outbox::Record r;
    OWSYNC_ASSIGN_OR_RETURN(bool more, reader->Next(&r));
    if (!more) break;
    out.push_back(std::move(r));
  }
  return out;
}

// What PostgreSQL would hold after applying the records in order.
class Replica {
 public:
  struct Row {
    std::map<std::string, outbox::Value> values;  // by column name
    uint64_t offset = 0;
  };

  Status Apply(const outbox::Record& r) {
    if (r.offset <= last_offset_) return Status::Corruption("offsets do not increase");
    last_offset_ = r.offset;
    switch (r.type) {
      case outbox::RecordType::kSchema:
        schemas_[r.table] = r.columns;
        break;
      case outbox::RecordType::kUpsert: {
        auto s = schemas_.find(r.table);
        if (s == schemas_.end()) return Status::Corruption("upsert before schema: " + r.table);
        if (s->second.size() != r.row.size()) return Status::Corruption("row width " + r.table);
        Row row;
        row.offset = r.offset;
        for (size_t i = 0; i < r.row.size(); ++i) row.values[s->second[i].name] = r.row[i];
        tables_[r.table][EncodeKey(r.key)] = std::move(row);
        break;
      }
      case outbox::RecordType::kDelete:
        if (schemas_.count(r.table) == 0) return Status::Corruption("delete before schema");
        tables_[r.table].erase(EncodeKey(r.key));
        break;
      case outbox::RecordType::kSnapshotBegin:
        begins_[r.offset] = r.table;
        break;
      case outbox::RecordType::kVerify:  // checks a copy; changes nothing in it
        ++verifies_;
        break;
      case outbox::RecordType::kSnapshotEnd: {
        auto b = begins_.find(r.snapshot_begin_offset);
        if (b == begins_.end() || b->second != r.table) {
          return Status::Corruption("snapshot end without its begin: " + r.table);
        }
        auto& rows = tables_[r.table];
        for (auto it = rows.begin(); it != rows.end();) {
          it = it->second.offset < r.snapshot_begin_offset ? rows.erase(it) : std::next(it);
        }
        ++snapshots_completed_[r.table];
        break;
      }
    }
    return Status::OK();
  }

  Status ApplyAll(const std::vector<outbox::Record>& records) {
    for (const auto& r : records) OWSYNC_RETURN_IF_ERROR(Apply(r));
    return Status::OK();
  }

  // "" when every replicable table of `catalog` holds exactly the database's rows; else the
  // first difference.
  Result<std::string> Diff(SqliteDb* db, const Catalog& catalog) const {
    for (const TableInfo* t : catalog.Replicable()) {
      OWSYNC_ASSIGN_OR_RETURN(SqliteStmt stmt,
                              db->Prepare("SELECT " + QuoteIdentifierList(t->ColumnNames()) +
                                          " FROM " + QuoteIdentifier(t->name)));
      std::map<std::string, std::vector<outbox::Value>> have;
      while (true) {
        OWSYNC_ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        std::vector<outbox::Value> values;
        TableQueries::ReadRow(stmt, 0, t->columns.size(), &values);
        have[EncodeKey(TableQueries::KeyOf(*t, values))] = std::move(values);
      }
      auto it = tables_.find(t->name);
      static const std::map<std::string, Row> kEmpty;
      const auto& copy = it == tables_.end() ? kEmpty : it->second;
      if (copy.size() != have.size()) {
        return "table " + t->name + ": database has " + std::to_string(have.size()) +
               " rows, the outbox copy " + std::to_string(copy.size());
      }
      for (const auto& [key, values] : have) {
        auto c = copy.find(key);
        if (c == copy.end()) return "table " + t->name + ": row missing from the outbox copy";
        for (size_t i = 0; i < t->columns.size(); ++i) {
          auto v = c->second.values.find(t->columns[i].name);
          outbox::Value got = v == c->second.values.end() ? outbox::Value::Null() : v->second;
          if (!(got == values[i])) {
            return "table " + t->name + ": column " + t->columns[i].name + " differs";
          }
        }
      }
    }
    return std::string();
  }

  size_t RowCount(const std::string& table) const {
    auto it = tables_.find(table);
    return it == tables_.end() ? 0 : it->second.size();
  }
  bool HasRow(const std::string& table, const std::vector<outbox::Value>& key) const {
    auto it = tables_.find(table);
    return it != tables_.end() && it->second.count(EncodeKey(key)) > 0;
  }
  int SnapshotsCompleted(const std::string& table) const {
    auto it = snapshots_completed_.find(table);
    return it == snapshots_completed_.end() ? 0 : it->second;
  }
  int verifies() const { return verifies_; }
  const std::vector<outbox::Column>* Schema(const std::string& table) const {
    auto it = schemas_.find(table);
    return it == schemas_.end() ? nullptr : &it->second;
  }

 private:
  uint64_t last_offset_ = 0;
  std::map<std::string, std::vector<outbox::Column>> schemas_;
  std::map<std::string, std::map<std::string, Row>> tables_;
  std::map<uint64_t, std::string> begins_;
  std::map<std::string, int> snapshots_completed_;
  int verifies_ = 0;
};

}  // namespace owsync::capture::testing

#endif  // OWSYNC_CAPTURE_CAPTURE_TESTING_H_
