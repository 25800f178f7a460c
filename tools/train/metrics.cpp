#include "metrics.h"

#include <cmath>
#include <limits>
#include <string>

#include <torch/torch.h>

#include "core/error.h"

namespace uprez::train {

namespace metrics {

// The Y channels of `a` and `b` with `border` pixels cropped, after checking that the images match.
std::pair<torch::Tensor, torch::Tensor> cropped_luma(const torch::Tensor& a, const torch::Tensor& b, int border) {
  if (a.sizes() != b.sizes()) throw Error("image quality: the two images differ in size");
  torch::Tensor ya = luma_bt601(a), yb = luma_bt601(b);
  if (ya.size(0) <= 2 * border || ya.size(1) <= 2 * border)
    throw Error("image quality: the border crop of " + std::to_string(border) + " pixels leaves nothing");
  const auto crop = [border](const torch::Tensor& y) {
    return y.slice(0, border, y.size(0) - border).slice(1, border, y.size(1) - border);
  };
  return {crop(ya), crop(yb)};
}

}  // namespace metrics

torch::Tensor luma_bt601(const torch::Tensor& rgb) {
  const torch::Tensor planes = (rgb.dim() == 4 ? rgb[0] : rgb).to(torch::kFloat64);
  if (planes.dim() != 3 || planes.size(0) != 3) throw Error("image quality: expected an RGB image");
  return 16.0 + 65.481 * planes[0] + 128.553 * planes[1] + 24.966 * planes[2];
}

double psnr_y(const torch::Tensor& a, const torch::Tensor& b, int border) {
  const auto [ya, yb] = metrics::cropped_luma(a, b, border);
  const double mse = (ya - yb).square().mean().item<double>();
  if (mse == 0.0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(255.0 * 255.0 / mse);
}

double ssim_y(const torch::Tensor& a, const torch::Tensor& b, int border) {
  constexpr int kWindow = 11;
  constexpr double kSigma = 1.5, kC1 = (0.01 * 255) * (0.01 * 255), kC2 = (0.03 * 255) * (0.03 * 255);
  const auto [ya, yb] = metrics::cropped_luma(a, b, border);
  if (ya.size(0) < kWindow || ya.size(1) < kWindow) throw Error("image quality: SSIM needs at least 11x11 pixels");
  torch::Tensor gauss = torch::arange(kWindow, torch::kFloat64) - (kWindow - 1) / 2.0;
  gauss = torch::exp(-gauss * gauss / (2 * kSigma * kSigma));
  gauss /= gauss.sum();
  // The 2-D Gaussian window is separable: two 1-D passes (valid positions only) are cheaper than one 11x11 pass.
  const torch::Tensor row = gauss.view({1, 1, 1, kWindow}), column = gauss.view({1, 1, kWindow, 1});
  const auto filter = [&](const torch::Tensor& x) {
    return torch::conv2d(torch::conv2d(x.unsqueeze(0).unsqueeze(0), row), column);
  };
  const torch::Tensor mu_a = filter(ya), mu_b = filter(yb);
  const torch::Tensor var_a = filter(ya * ya) - mu_a * mu_a, var_b = filter(yb * yb) - mu_b * mu_b;
  const torch::Tensor covariance = filter(ya * yb) - mu_a * mu_b;
  const torch::Tensor map =
      ((2 * mu_a * mu_b + kC1) * (2 * covariance + kC2)) / ((mu_a * mu_a + mu_b * mu_b + kC1) * (var_a + var_b + kC2));
  return map.mean().item<double>();
}

}  // namespace uprez::train
