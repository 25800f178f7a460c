#include "arch/dysample.h"

#include <string>
#include <vector>

#include "core/error.h"
#include "nn/any_dtype.h"

namespace uprez {

namespace F = torch::nn::functional;

namespace dysample {

// The sub-pixel positions of the scale x scale outputs of one input pixel, relative to its centre and in input
// pixels: (1, 2 * groups * scale^2, 1, 1), x offsets first (spandrel's _init_pos).
torch::Tensor initial_positions(int64_t scale, int64_t groups) {
  const torch::Tensor steps =
      torch::arange((-scale + 1) / 2.0, (scale - 1) / 2.0 + 1, torch::kFloat32) / static_cast<double>(scale);
  const std::vector<torch::Tensor> grid = torch::meshgrid({steps, steps}, "ij");
  return torch::stack(grid).transpose(1, 2).repeat({1, groups, 1}).reshape({1, -1, 1, 1});
}

}  // namespace dysample

DySampleImpl::DySampleImpl(const DySampleOptions& options) : options_(options) {
  if (options.in_channels < options.groups || options.in_channels % options.groups != 0)
    throw Error("DySample: " + std::to_string(options.in_channels) + " channels cannot form " +
                std::to_string(options.groups) + " groups");
  const int64_t offset_channels = 2 * options.groups * options.scale * options.scale;
  if (options.end_convolution)
    end_conv_ = register_module(
        "end_conv", FastConv2d(torch::nn::Conv2dOptions(options.in_channels, options.out_channels, 1)));
  offset_ =
      register_module("offset", FastConv2d(torch::nn::Conv2dOptions(options.in_channels, offset_channels, 1)));
  scope_ = register_module(
      "scope", FastConv2d(torch::nn::Conv2dOptions(options.in_channels, offset_channels, 1).bias(false)));
  init_pos_ = register_buffer("init_pos", dysample::initial_positions(options.scale, options.groups));
}

torch::Tensor DySampleImpl::forward(const torch::Tensor& x) {
  const int64_t scale = options_.scale;
  const torch::Tensor offset = offset_->forward(x) * torch::sigmoid(scope_->forward(x)) * 0.5 + init_pos_;
  const int64_t batch = offset.size(0);
  const int64_t height = offset.size(2);
  const int64_t width = offset.size(3);
  const auto float_options = torch::TensorOptions().dtype(torch::kFloat32);
  // Pixel centres (x, y) in input pixels: (1, 2, 1, H, W).
  const std::vector<torch::Tensor> centres =
      torch::meshgrid({torch::arange(width, float_options) + 0.5, torch::arange(height, float_options) + 0.5}, "ij");
  const torch::Tensor coords = torch::stack(centres).transpose(1, 2).unsqueeze(1).unsqueeze(0).to(x.options());
  const torch::Tensor normalizer =
      torch::tensor({static_cast<double>(width), static_cast<double>(height)}, x.options()).view({1, 2, 1, 1, 1});
  // Sampling positions in grid_sample's [-1, 1] coordinates, one (x, y) pair per output pixel and group.
  const torch::Tensor positions = 2 * (coords + offset.view({batch, 2, -1, height, width})) / normalizer - 1;
  const torch::Tensor grid = F::pixel_shuffle(positions.reshape({batch, -1, height, width}), scale)
                                 .view({batch, 2, -1, scale * height, scale * width})
                                 .permute({0, 2, 3, 4, 1})
                                 .contiguous()
                                 .flatten(0, 1);
  torch::Tensor output =
      grid_sample_any_dtype(
          x.reshape({batch * options_.groups, -1, height, width}), grid,
          F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false))
          .view({batch, -1, scale * height, scale * width});
  if (options_.end_convolution) output = end_conv_->forward(output);
  return output;
}

}  // namespace uprez
