// The URI parser: quote-aware splitting on ';', trimming, unquoting, and its one-line syntax errors.
#include "uri/uri.h"

#include "core/error.h"

namespace uprez {

namespace uri {

std::string trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const size_t last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// Splits `uri` on ';' that stand outside quotes; quotes are kept for unquote() to remove.
std::vector<std::string> split_outside_quotes(const std::string& uri) {
  std::vector<std::string> parts(1);
  char quote = 0;
  for (size_t i = 0; i < uri.size(); ++i) {
    const char c = uri[i];
    if (quote) {
      if (c == '\\' && i + 1 < uri.size()) {
        parts.back() += c;
        parts.back() += uri[++i];
        continue;
      }
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == ';') {
      parts.emplace_back();
      continue;
    }
    parts.back() += c;
  }
  if (quote) throw Error("processor URI \"" + uri + "\": unterminated " + std::string(1, quote) + " quote");
  return parts;
}

// Removes one level of quotes from a value written as `"..."`, `'...'` or bare text.
std::string unquote(const std::string& value, const std::string& uri, const std::string& key) {
  if (value.empty() || (value[0] != '"' && value[0] != '\'')) return value;
  const char quote = value[0];
  std::string text;
  size_t i = 1;
  for (; i < value.size() && value[i] != quote; ++i) {
    if (value[i] == '\\' && i + 1 < value.size() && (value[i + 1] == quote || value[i + 1] == '\\')) ++i;
    text += value[i];
  }
  if (i + 1 != value.size())
    throw Error("processor URI \"" + uri + "\": extraneous text after the quoted value of \"" + key + "\"");
  return text;
}

}  // namespace uri

Uri parse_uri(const std::string& uri) {
  if (uri::trim(uri).empty()) throw Error("processor URI is empty");
  const std::vector<std::string> parts = uri::split_outside_quotes(uri);
  Uri parsed;
  parsed.name = uri::trim(parts[0]);
  if (parsed.name.empty()) throw Error("processor URI \"" + uri + "\": missing processor name");
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string part = uri::trim(parts[i]);
    if (part.empty())
      throw Error("processor URI \"" + uri + "\": empty argument for \"" + parsed.name + "\", stray \";\"?");
    const size_t equals = part.find('=');
    const std::string key = uri::trim(part.substr(0, equals));
    if (key.empty()) throw Error("processor URI \"" + uri + "\": argument without a name: \"" + part + "\"");
    if (equals == std::string::npos)
      throw Error("processor URI \"" + uri + "\": missing value assignment for argument \"" + key + "\"");
    const std::string value = uri::trim(part.substr(equals + 1));
    if (value.empty()) throw Error("processor URI \"" + uri + "\": missing value for argument \"" + key + "\"");
    for (const auto& existing : parsed.arguments)
      if (existing.first == key)
        throw Error("processor URI \"" + uri + "\": duplicate argument \"" + key + "\"");
    parsed.arguments.emplace_back(key, uri::unquote(value, uri, key));
  }
  return parsed;
}

}  // namespace uprez
