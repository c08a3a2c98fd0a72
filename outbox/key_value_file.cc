#include "outbox/key_value_file.h"

namespace owsync::outbox {

std::string KeyValueFile::Format(std::string_view first_line,
                                 const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out(first_line);
  out += '\n';
  for (const auto& [key, value] : pairs) out += key + "=" + value + "\n";
  return out;
}

Result<std::vector<std::string>> KeyValueFile::Parse(
    std::string_view text, std::string_view what, std::string_view first_line,
    const std::vector<std::string>& keys, const std::vector<std::string>& optional_keys) {
  auto bad = [&](std::string_view why) {
    return Status::Corruption(std::string(what) + ": " + std::string(why));
  };
  if (text.find('\0') != std::string_view::npos) return bad("contains a NUL byte");
  auto next_line = [&](std::string_view* line) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return false;
    *line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    return true;
  };
  std::string_view line;
  if (!next_line(&line) || line != first_line) {
    return bad("first line is not \"" + std::string(first_line) + "\"");
  }
  std::vector<std::string> values;
  for (const std::string& key : keys) {
    if (!next_line(&line)) return bad("missing line \"" + key + "=...\"");
    if (line.substr(0, key.size() + 1) != key + "=") return bad("expected \"" + key + "=...\"");
    values.emplace_back(line.substr(key.size() + 1));
  }
  for (const std::string& key : optional_keys) {
    if (text.empty()) {
      values.emplace_back();
      continue;
    }
    if (!next_line(&line)) return bad("missing line \"" + key + "=...\"");
    if (line.substr(0, key.size() + 1) != key + "=") return bad("expected \"" + key + "=...\"");
    values.emplace_back(line.substr(key.size() + 1));
  }
  if (!text.empty()) return bad("unexpected bytes after the last line");
  return values;
}

}  // namespace owsync::outbox
