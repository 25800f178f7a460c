// Image quality as super-resolution papers report it (and BasicSR computes it): PSNR and SSIM on the BT.601
// luma channel, Y = 16 + 65.481 R + 128.553 G + 24.966 B for RGB in [0, 1] (so Y is in [16, 235] of 255), with
// `border` pixels cropped from every side; computed in float64.
#pragma once

#include <torch/types.h>

namespace uprez::train {

// The Y channel of an RGB tensor in [0, 1], (1, 3, H, W) or (3, H, W), as an (H, W) float64 tensor.
torch::Tensor luma_bt601(const torch::Tensor& rgb);

// PSNR in dB of two RGB images of the same size on Y, peak 255; +infinity when they are identical.
double psnr_y(const torch::Tensor& a, const torch::Tensor& b, int border);

// SSIM of two RGB images on Y (Wang et al. 2004 as in MATLAB's ssim_index and BasicSR: 11x11 Gaussian window
// with sigma 1.5, valid positions only, K1 = 0.01, K2 = 0.03, L = 255), averaged over the window positions.
double ssim_y(const torch::Tensor& a, const torch::Tensor& b, int border);

}  // namespace uprez::train
