// The one exception type for user-facing failures: its message is a single line that names the file or
// argument at fault. The CLI prints it after "<command>: error: " and exits with status 1.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace uprez {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The first line of any exception's message (LibTorch appends backtraces to its own).
inline std::string one_line_message(const std::exception& e) {
  const std::string text(e.what());
  return text.substr(0, text.find('\n'));
}

}  // namespace uprez
