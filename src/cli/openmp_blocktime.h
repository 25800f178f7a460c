// ncnn's `blocktime` for the uprez program: how long OpenMP worker threads spin after a parallel region before
// they sleep. Debian's libgomp has no run-time call for it (kmp_set_blocktime is LLVM's and Intel's OpenMP); it
// reads GOMP_SPINCOUNT and OMP_WAIT_POLICY once, when it loads. So when a processor URI on the command line sets
// blocktime, uprez restarts itself once with those variables set for that many milliseconds.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace uprez {

// The largest `blocktime=N` (0-400) among the processor URIs in `args`, if any.
std::optional<int> requested_blocktime(const std::vector<std::string>& args);

// The GOMP_SPINCOUNT that spins for about `milliseconds` on this CPU (0 for 0).
long long spin_count_for(int milliseconds);

// Restarts the program (execv of /proc/self/exe with `argv`) with GOMP_SPINCOUNT set for the requested blocktime
// (and OMP_WAIT_POLICY=passive for 0), unless they already are; returns when no restart is needed, or after a warning when the
// restart failed (the program then runs with libgomp's default spin time).
void apply_openmp_blocktime(char** argv, const std::vector<std::string>& args);

}  // namespace uprez
