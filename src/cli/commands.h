// The uprez sub-commands. Each returns the process exit status: 0 on success, 1 after printing
// "<command>: error: <message>" to stderr.
#pragma once

#include <string>
#include <vector>

namespace uprez {

int run_image_process(const std::vector<std::string>& args);
int run_model_info(const std::vector<std::string>& args);

// dgenerate's multi-letter short options (-ox, -na, -al ...) spelled as the long options CLI11 understands.
std::vector<std::string> expand_short_aliases(const std::vector<std::string>& args);

}  // namespace uprez
