// Parsing of NCNN's text .param format: the magic number, the layer and blob counts, then one layer per line
// with its blobs and id=value parameters. This checks syntax and counts; Net checks the graph and makes the layers.
#pragma once

#include <string>
#include <vector>

#include "ncnn/param_dict.h"

namespace uprez::ncnn {

// One layer line.
struct ParamLayer {
  std::string type;
  std::string name;
  std::vector<std::string> inputs;   // blob names
  std::vector<std::string> outputs;  // blob names
  std::string location;              // "<param file>:<line>"
  ParamDict params;                  // its context is "<location>: <type> <name>"
};

struct ParamFile {
  int blob_count = 0;           // as declared on the counts line
  std::string counts_location;  // "<param file>:<line>" of the counts line
  std::vector<ParamLayer> layers;
};

// Reads a .param file. Blank lines, CRLF line ends and runs of spaces or tabs are accepted. Throws
// Error("<path>:<line>: ...") for a wrong magic number, malformed or inconsistent counts, a malformed layer line or
// parameter, and Error("<path>: ...") for a missing or truncated file.
ParamFile read_param_file(const std::string& path);

// Parses the `id=value` tokens of one layer line; `context` starts every error message. A value is an int or a float
// (a float when its text has '.', 'e' or 'E'); `id=v1,v2,...` is an array, as is `-(23300 + id)=count,v1,v2,...`
// (ncnn's old syntax); an array holds floats when any element does. Ids 30 and 31 (output shape hints and the
// feature mask, which ncnn keeps for itself) are checked but left out. A later value for an id replaces an
// earlier one, as in ncnn.
ParamDict parse_param_pairs(const std::vector<std::string>& tokens, const std::string& context);

}  // namespace uprez::ncnn
