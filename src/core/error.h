// The one exception type for user-facing failures: its message is a single line that names the file or
// argument at fault. The CLI prints it after "<command>: error: " and exits with status 1.
#pragma once

#include <stdexcept>
#include <string>

namespace uprez {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace uprez
