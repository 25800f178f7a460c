// URIs as dgenerate writes them for image processors (and soon schedulers): `name;key=value;key="quoted;value"`.
// Parsing checks syntax only; which keys a name accepts is checked against its argument specs (uri/arguments.h).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace uprez {

struct Uri {
  std::string name;
  std::vector<std::pair<std::string, std::string>> arguments;  // in the order written, values unquoted
};

// Splits on ';' outside single or double quotes, strips white space around parts, unquotes values (a
// backslash escapes a quote or backslash inside quotes). Throws Error for an empty URI, an empty argument
// ("stray ';'"), a missing '=' or value, a duplicate key, or an unterminated quote.
Uri parse_uri(const std::string& uri);

}  // namespace uprez
