#include "capture/index_terms.h"

#include "capture/sql_quote.h"

namespace owsync::capture {
namespace {

enum class Kind { kSpace, kWord, kQuotedName, kString, kPunct };

struct Token {
  Kind kind;
  std::string_view text;
};

bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$' || c >= 0x80;
}

// Splits `sql` into tokens; comments count as space. An unterminated quote runs to the end.
std::vector<Token> Tokenize(std::string_view sql) {
  std::vector<Token> out;
  size_t i = 0;
  const size_t n = sql.size();
  auto quoted = [&](char close) {
    size_t j = i + 1;
    while (j < n) {
      if (sql[j] == close) {
        if (close != ']' && j + 1 < n && sql[j + 1] == close) {
          j += 2;
          continue;
        }
        return j + 1;
      }
      ++j;
    }
    return n;
  };
  while (i < n) {
    const char c = sql[i];
    size_t end = i + 1;
    Kind kind = Kind::kPunct;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
      kind = Kind::kSpace;
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      end = sql.find('\n', i);
      end = end == std::string_view::npos ? n : end;
      kind = Kind::kSpace;
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      end = sql.find("*/", i + 2);
      end = end == std::string_view::npos ? n : end + 2;
      kind = Kind::kSpace;
    } else if (c == '\'') {
      end = quoted('\'');
      kind = Kind::kString;
    } else if (c == '"' || c == '`') {
      end = quoted(c);
      kind = Kind::kQuotedName;
    } else if (c == '[') {
      end = quoted(']');
      kind = Kind::kQuotedName;
    } else if (IsWordByte(static_cast<unsigned char>(c))) {
      while (end < n && IsWordByte(static_cast<unsigned char>(sql[end]))) ++end;
      kind = Kind::kWord;
    }
    out.push_back({kind, sql.substr(i, end - i)});
    i = end;
  }
  return out;
}

// The name a word or quoted-name token stands for.
std::string NameOf(const Token& t) {
  if (t.kind == Kind::kWord) return std::string(t.text);
  std::string_view body = t.text.substr(1);
  const char close = t.text.front() == '[' ? ']' : t.text.front();
  if (!body.empty() && body.back() == close) body.remove_suffix(1);
  std::string name;
  for (size_t k = 0; k < body.size(); ++k) {
    name.push_back(body[k]);
    if (close != ']' && body[k] == close && k + 1 < body.size() && body[k + 1] == close) ++k;
  }
  return name;
}

bool IsWord(const Token& t, std::string_view word) {
  return t.kind == Kind::kWord && IdentifierEquals(t.text, word);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' ||
                        s.front() == '\r' || s.front() == '\f')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' ||
                        s.back() == '\r' || s.back() == '\f')) {
    s.remove_suffix(1);
  }
  return s;
}

// One term from tokens [begin, end), without a trailing ASC or DESC.
std::string TermOf(const std::vector<Token>& tokens, size_t begin, size_t end) {
  while (end > begin && tokens[end - 1].kind == Kind::kSpace) --end;
  if (end > begin && (IsWord(tokens[end - 1], "ASC") || IsWord(tokens[end - 1], "DESC"))) --end;
  std::string out;
  for (size_t k = begin; k < end; ++k) out.append(tokens[k].text);
  return std::string(Trim(out));
}

}  // namespace

Result<std::vector<std::string>> IndexTerms::Parse(std::string_view sql) {
  const std::vector<Token> tokens = Tokenize(sql);
  size_t k = 0;
  // Find ON <name>[.<name>] (.
  for (; k < tokens.size(); ++k) {
    if (IsWord(tokens[k], "ON")) break;
  }
  for (++k; k < tokens.size() && tokens[k].text != "("; ++k) {
  }
  if (k >= tokens.size()) {
    return Status::InvalidArgument("no column list in index definition: " + std::string(sql));
  }
  std::vector<std::string> terms;
  int depth = 0;
  size_t start = k + 1;
  for (size_t j = k; j < tokens.size(); ++j) {
    const std::string_view t = tokens[j].text;
    if (tokens[j].kind != Kind::kPunct) continue;
    if (t == "(") {
      ++depth;
    } else if (t == ")") {
      if (--depth == 0) {
        terms.push_back(TermOf(tokens, start, j));
        for (const auto& term : terms) {
          if (term.empty()) {
            return Status::InvalidArgument("an empty term in index definition: " +
                                           std::string(sql));
          }
        }
        return terms;
      }
    } else if (t == "," && depth == 1) {
      terms.push_back(TermOf(tokens, start, j));
      start = j + 1;
    }
  }
  return Status::InvalidArgument("unclosed column list in index definition: " + std::string(sql));
}

std::string IndexTerms::Qualify(std::string_view term, const std::vector<std::string>& columns,
                                std::string_view row) {
  const std::vector<Token> tokens = Tokenize(term);
  auto neighbour = [&](size_t k, int step) -> const Token* {
    for (long j = static_cast<long>(k) + step; j >= 0 && j < static_cast<long>(tokens.size());
         j += step) {
      if (tokens[static_cast<size_t>(j)].kind != Kind::kSpace)
        return &tokens[static_cast<size_t>(j)];
    }
    return nullptr;
  };
  std::string out;
  for (size_t k = 0; k < tokens.size(); ++k) {
    const Token& t = tokens[k];
    bool is_column = false;
    if (t.kind == Kind::kWord || t.kind == Kind::kQuotedName) {
      const Token* next = neighbour(k, 1);
      const Token* prev = neighbour(k, -1);
      const bool call = next != nullptr && next->text == "(";
      const bool qualified =
          (prev != nullptr && prev->text == ".") || (next != nullptr && next->text == ".");
      const bool named_after = prev != nullptr && (IsWord(*prev, "COLLATE") || IsWord(*prev, "AS"));
      if (!call && !qualified && !named_after) {
        const std::string name = NameOf(t);
        for (const auto& c : columns) {
          if (IdentifierEquals(c, name)) {
            out += std::string(row) + "." + QuoteIdentifier(c);
            is_column = true;
            break;
          }
        }
      }
    }
    if (!is_column) out.append(t.text);
  }
  return out;
}

}  // namespace owsync::capture
