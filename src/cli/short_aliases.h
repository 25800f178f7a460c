// dgenerate's multi-letter short options (-ox, -mt ...) spelled as the long options CLI11 understands.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace uprez {

// `args` with every argument that is a key of `aliases` replaced by its long spelling.
inline std::vector<std::string> expand_aliases(const std::vector<std::string>& args,
                                               const std::map<std::string, std::string>& aliases) {
  std::vector<std::string> expanded;
  for (const std::string& arg : args) {
    const auto it = aliases.find(arg);
    expanded.push_back(it == aliases.end() ? arg : it->second);
  }
  return expanded;
}

}  // namespace uprez
