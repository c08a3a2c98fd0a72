#include "capture/column_signature.h"

#include <algorithm>
#include <charconv>

namespace owsync::capture {
namespace {

void AppendField(std::string_view field, std::string* out) {
  *out += std::to_string(field.size());
  out->push_back(':');
  out->append(field);
}

bool ReadNumber(std::string_view* in, char end, uint64_t* value) {
  const auto [ptr, ec] = std::from_chars(in->data(), in->data() + in->size(), *value);
  if (ec != std::errc() || ptr == in->data() + in->size() || *ptr != end) return false;
  in->remove_prefix(static_cast<size_t>(ptr - in->data()) + 1);
  return true;
}

bool ReadField(std::string_view* in, std::string* field) {
  uint64_t n = 0;
  if (!ReadNumber(in, ':', &n) || n > in->size()) return false;
  field->assign(in->substr(0, n));
  in->remove_prefix(n);
  return true;
}

bool Has(const ColumnSignature& s, const std::string& name) {
  for (const auto& e : s.entries()) {
    if (e.name == name) return true;
  }
  return false;
}

std::vector<std::string> KeyNames(const ColumnSignature& s) {
  std::vector<std::pair<uint32_t, std::string>> keys;
  for (const auto& e : s.entries()) {
    if (e.key_position > 0) keys.emplace_back(e.key_position, e.name);
  }
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> names;
  for (auto& k : keys) names.push_back(std::move(k.second));
  return names;
}

}  // namespace

ColumnSignature ColumnSignature::Of(const TableInfo& table) {
  ColumnSignature s;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    Entry e;
    e.name = table.columns[i].name;
    if (i < table.column_defaults.size()) e.default_sql = table.column_defaults[i];
    e.key_position = table.columns[i].key_position;
    s.entries_.push_back(std::move(e));
  }
  return s;
}

std::string ColumnSignature::Encode() const {
  std::string out = "v1;";
  for (const Entry& e : entries_) {
    AppendField(e.name, &out);
    AppendField(e.default_sql, &out);
    out += std::to_string(e.key_position);
    out.push_back(';');
  }
  return out;
}

Result<ColumnSignature> ColumnSignature::Decode(std::string_view text) {
  if (!text.starts_with("v1;")) return Status::Corruption("column signature: unknown version");
  text.remove_prefix(3);
  ColumnSignature s;
  while (!text.empty()) {
    Entry e;
    uint64_t key = 0;
    if (!ReadField(&text, &e.name) || !ReadField(&text, &e.default_sql) ||
        !ReadNumber(&text, ';', &key) || key > UINT32_MAX) {
      return Status::Corruption("column signature: malformed entry");
    }
    e.key_position = static_cast<uint32_t>(key);
    s.entries_.push_back(std::move(e));
  }
  return s;
}

bool ColumnSignature::NeedsSnapshotAfter(const ColumnSignature& before) const {
  if (KeyNames(*this) != KeyNames(before)) return true;
  bool added = false, removed = false;
  for (const Entry& e : entries_) {
    if (Has(before, e.name)) continue;
    added = true;
    if (!e.default_sql.empty()) return true;
  }
  for (const Entry& e : before.entries_) removed |= !Has(*this, e.name);
  return added && removed;
}

}  // namespace owsync::capture
