// What a sub-command's parse function throws when its command line asks for the usage text instead of a run
// (--help, or model-info without files): the caller prints the text to stdout and exits with the status.
#pragma once

#include <exception>
#include <string>
#include <utility>

namespace uprez {

class HelpRequested : public std::exception {
 public:
  HelpRequested(std::string text, int status) : text_(std::move(text)), status_(status) {}
  const char* what() const noexcept override { return text_.c_str(); }
  const std::string& text() const { return text_; }
  int status() const { return status_; }  // the exit status: 0 for --help

 private:
  std::string text_;
  int status_;
};

}  // namespace uprez
