#include "cli/openmp_blocktime.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>

namespace uprez {

namespace openmp_blocktime {

constexpr int kMaxBlocktime = 400;  // dgenerate's bound
constexpr const char* kAppliedVariable = "UPREZ_OPENMP_BLOCKTIME";

// One iteration of libgomp's spin loop: a load of the flag it waits on and a CPU pause.
inline void spin_once(volatile int& flag) {
  const int value = flag;
  (void)value;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace openmp_blocktime

std::optional<int> requested_blocktime(const std::vector<std::string>& args) {
  std::optional<int> largest;
  for (const std::string& arg : args) {
    for (size_t at = arg.find("blocktime"); at != std::string::npos; at = arg.find("blocktime", at + 1)) {
      // Only a key of a URI: "...;blocktime=N" (spaces around '=' allowed), ending at ';' or the end.
      if (at == 0 || arg[at - 1] != ';') continue;
      size_t value = arg.find_first_not_of(' ', at + 9);
      if (value == std::string::npos || arg[value] != '=') continue;
      value = arg.find_first_not_of(' ', value + 1);
      const size_t end = std::min(arg.find(';', at), arg.size());
      if (value == std::string::npos || value >= end) continue;
      std::string text = arg.substr(value, end - value);
      text.erase(text.find_last_not_of(' ') + 1);
      if (text.empty() || text.size() > 3 || text.find_first_not_of("0123456789") != std::string::npos) continue;
      const int milliseconds = std::stoi(text);
      if (milliseconds > openmp_blocktime::kMaxBlocktime) continue;  // the processor reports it
      largest = std::max(largest.value_or(0), milliseconds);
    }
  }
  return largest;
}

long long spin_count_for(int milliseconds) {
  if (milliseconds <= 0) return 0;
  volatile int flag = 0;
  constexpr int kCalibrationSpins = 200000;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCalibrationSpins; ++i) openmp_blocktime::spin_once(flag);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double spins_per_millisecond = kCalibrationSpins / std::max(seconds * 1000, 1e-6);
  return std::max(1LL, static_cast<long long>(spins_per_millisecond * milliseconds));
}

void apply_openmp_blocktime(char** argv, const std::vector<std::string>& args) {
  const std::optional<int> blocktime = requested_blocktime(args);
  if (!blocktime) return;
  const std::string wanted = std::to_string(*blocktime);
  const char* applied = std::getenv(openmp_blocktime::kAppliedVariable);
  if (applied != nullptr && wanted == applied) return;
  setenv(openmp_blocktime::kAppliedVariable, wanted.c_str(), 1);
  setenv("GOMP_SPINCOUNT", std::to_string(spin_count_for(*blocktime)).c_str(), 1);
  if (*blocktime == 0) setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);
  std::cerr << "uprez: warning: could not restart to apply blocktime=" << wanted
            << " (libgomp reads its spin time only at start-up); running with the default\n";
}

}  // namespace uprez
