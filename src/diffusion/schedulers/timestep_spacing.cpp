#include "diffusion/schedulers/timestep_spacing.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace uprez {
namespace timestep_spacing {

// np.round: halves to even (the default rounding mode).
int64_t round_half_even(double x) { return static_cast<int64_t>(std::nearbyint(x)); }

// np.linspace(0, last, steps).round(), increasing: i * (last / (steps - 1)), the last one exactly `last`.
std::vector<int64_t> linspace(int64_t last, int64_t steps) {
  std::vector<int64_t> out;
  const double step = steps > 1 ? static_cast<double>(last) / static_cast<double>(steps - 1) : 0.0;
  for (int64_t i = 0; i < steps; ++i) out.push_back(round_half_even(static_cast<double>(i) * step));
  if (steps > 1) out.back() = last;
  std::reverse(out.begin(), out.end());
  return out;
}

// np.round(np.arange(count, 0, -count / steps)) - 1: NumPy fills an arange as start + i * (second - start).
std::vector<int64_t> trailing(int64_t count, int64_t steps) {
  const double start = static_cast<double>(count);
  const double ratio = start / static_cast<double>(steps);
  const double delta = (start - ratio) - start;
  const auto length = static_cast<int64_t>(std::ceil(-start / -ratio));
  std::vector<int64_t> out;
  for (int64_t i = 0; i < length; ++i) out.push_back(round_half_even(start + static_cast<double>(i) * delta) - 1);
  return out;
}

// (np.arange(steps) * (count // steps))[::-1] + offset.
std::vector<int64_t> leading(int64_t count, int64_t steps, int64_t offset) {
  std::vector<int64_t> out;
  for (int64_t i = steps - 1; i >= 0; --i) out.push_back(i * (count / steps) + offset);
  return out;
}

}  // namespace timestep_spacing

TimestepSpacing TimestepSpacing::read(JsonConfig& config) {
  TimestepSpacing s;
  config.require("timestep_spacing", {"leading", "trailing", "linspace"});
  s.timestep_spacing = config.string("timestep_spacing", s.timestep_spacing);
  s.steps_offset = config.integer("steps_offset", s.steps_offset);
  return s;
}

std::vector<int64_t> TimestepSpacing::timesteps(int64_t num_train_timesteps, int64_t steps,
                                                const std::string& path) const {
  if (steps < 1 || steps > num_train_timesteps)
    throw Error(path + ": " + std::to_string(steps) + " inference steps; the scheduler takes 1 to " +
                std::to_string(num_train_timesteps) + " (num_train_timesteps)");
  if (timestep_spacing == "linspace") return timestep_spacing::linspace(num_train_timesteps - 1, steps);
  if (timestep_spacing == "trailing") return timestep_spacing::trailing(num_train_timesteps, steps);
  return timestep_spacing::leading(num_train_timesteps, steps, steps_offset);
}

}  // namespace uprez
