// Processor URIs as dgenerate writes them: `name;key=value;key="quoted;value"`. Parsing checks syntax only;
// which keys a processor accepts is checked by the processor registry (processor.h).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace uprez {

struct ProcessorUri {
  std::string name;
  std::vector<std::pair<std::string, std::string>> arguments;  // in the order written, values unquoted
};

// Splits on ';' outside single or double quotes, strips white space around parts, unquotes values (a
// backslash escapes a quote or backslash inside quotes). Throws Error for an empty URI, an empty argument
// ("stray ';'"), a missing '=' or value, a duplicate key, or an unterminated quote.
ProcessorUri parse_processor_uri(const std::string& uri);

}  // namespace uprez
