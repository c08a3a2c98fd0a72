#include "cli/workload_key_cache.h"

#include <cstring>

#include "cli/sqlite_handle.h"

namespace owsync::cli {

std::string WorkloadKeyCache::Encode(const Key& key) {
  std::string out;
  for (const outbox::Value& v : key) {
    out += static_cast<char>(v.type);
    switch (v.type) {
      case outbox::ValueType::kNull:
        break;
      case outbox::ValueType::kInteger:
        out.append(reinterpret_cast<const char*>(&v.integer), sizeof(v.integer));
        break;
      case outbox::ValueType::kReal:
        out.append(reinterpret_cast<const char*>(&v.real), sizeof(v.real));
        break;
      case outbox::ValueType::kText:
      case outbox::ValueType::kBlob: {
        uint64_t n = v.bytes.size();
        out.append(reinterpret_cast<const char*>(&n), sizeof(n));
        out += v.bytes;
        break;
      }
    }
  }
  return out;
}

Status WorkloadKeyCache::Load(sqlite3* db, const WorkloadTable& table) {
  std::string cols;
  for (int k : table.key) {
    if (!cols.empty()) cols += ", ";
    cols += QuoteIdentifier(table.columns[k].name);
  }
  std::string sql = "SELECT " + cols + " FROM " + QuoteIdentifier(table.name) + " ORDER BY " + cols;
  OWSYNC_ASSIGN_OR_RETURN(SqliteStmt stmt, PrepareSqlite(db, sql));
  Keys keys;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    Key key;
    for (size_t i = 0; i < table.key.size(); ++i) {
      key.push_back(ColumnValue(stmt.get(), static_cast<int>(i)));
    }
    keys.index.emplace(Encode(key), keys.list.size());
    keys.list.push_back(std::move(key));
  }
  if (rc != SQLITE_DONE) return SqliteStatus(db, rc, "load keys of " + table.name);
  tables_[table.name] = std::move(keys);
  return Status::OK();
}

void WorkloadKeyCache::Add(const std::string& table, const Key& key) {
  Keys& keys = tables_[table];
  auto [it, inserted] = keys.index.emplace(Encode(key), keys.list.size());
  if (inserted) keys.list.push_back(key);
}

void WorkloadKeyCache::Remove(const std::string& table, const Key& key) {
  auto t = tables_.find(table);
  if (t == tables_.end()) return;
  Keys& keys = t->second;
  auto it = keys.index.find(Encode(key));
  if (it == keys.index.end()) return;
  size_t pos = it->second;
  keys.index.erase(it);
  if (pos + 1 != keys.list.size()) {
    keys.list[pos] = std::move(keys.list.back());
    keys.index[Encode(keys.list[pos])] = pos;
  }
  keys.list.pop_back();
}

size_t WorkloadKeyCache::Size(const std::string& table) const {
  auto t = tables_.find(table);
  return t == tables_.end() ? 0 : t->second.list.size();
}

const WorkloadKeyCache::Key& WorkloadKeyCache::Pick(const std::string& table,
                                                    WorkloadRandom* rng) const {
  const Keys& keys = tables_.at(table);
  return keys.list[rng->Uniform(keys.list.size())];
}

}  // namespace owsync::cli
