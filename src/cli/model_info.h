// model-info: what uprez detects from model files (architecture, scale, channels, dtypes, size requirements,
// hyper-parameters), as options, their parsing and the run, so that a script can call it without an argv.
#pragma once

#include <string>
#include <vector>

namespace uprez {

struct ModelInfoOptions {
  std::vector<std::string> files;
};

// The files of the command line; throws HelpRequested for none (status 1) or -h/--help first (status 0).
ModelInfoOptions parse_model_info(const std::vector<std::string>& args);

// Prints each file's information, a blank line between files. A file that cannot be read or detected is
// reported as "model-info: error: <message>" on stderr and the others still run; returns false when any failed.
bool run_model_info(const ModelInfoOptions& options);

// The sub-command: parse and run; the exit status (0, or 1 after an error or the usage without files).
int model_info_main(const std::vector<std::string>& args);

}  // namespace uprez
