#include "nn/any_dtype.h"

#include <vector>

namespace uprez {

namespace F = torch::nn::functional;

bool reduced_precision_on_cpu(const torch::Tensor& x) {
  return x.device().is_cpu() && (x.scalar_type() == torch::kHalf || x.scalar_type() == torch::kBFloat16);
}

torch::Tensor mish_any_dtype(const torch::Tensor& x) {
  return reduced_precision_on_cpu(x) ? torch::mish(x.to(torch::kFloat)).to(x.scalar_type()) : torch::mish(x);
}

torch::Tensor grid_sample_any_dtype(const torch::Tensor& x, const torch::Tensor& grid,
                                    const F::GridSampleFuncOptions& options) {
  if (!reduced_precision_on_cpu(x)) return F::grid_sample(x, grid, options);
  return F::grid_sample(x.to(torch::kFloat), grid.to(torch::kFloat), options).to(x.scalar_type());
}

torch::Tensor upscale_nearest(const torch::Tensor& x, int64_t scale) {
  const auto factor = static_cast<double>(scale);
  return F::interpolate(
      x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{factor, factor}).mode(torch::kNearest));
}

}  // namespace uprez
