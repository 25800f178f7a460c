// A one-line progress bar on stderr (done/total, rate, ETA), drawn only when stderr is a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace uprez {

class ProgressBar {
 public:
  explicit ProgressBar(std::string unit);
  ~ProgressBar();
  void update(int64_t done, int64_t total);
  // Ends the current line (if one was drawn) so that later output starts on a fresh line.
  void finish();

 private:
  std::string unit_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace uprez
