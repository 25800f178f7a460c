// ncnn's PixelShuffle: (c, h, w) -> (c / r^2, h * r, w * r) with 0 upscale_factor r. Output channel p, sub-pixel
// (i, j) comes from input channel p * r^2 + i * r + j in mode 0 (PyTorch's pixel_shuffle), (i * r + j) * c / r^2 + p
// in mode 1. Channels beyond the last multiple of r^2 are ignored, as ncnn does.
#include "ncnn/layers/layers.h"
#include "ncnn/layers/spatial.h"

namespace uprez::ncnn {

namespace pixel_shuffle {

class PixelShuffle final : public Layer {
 public:
  void load_param(const ParamDict& params) override {
    factor_ = params.get_int(0, 1);
    if (factor_ <= 0) params.fail(0, "upscale_factor must be positive");
    const int mode = params.get_int(1, 0);
    if (mode != 0 && mode != 1) params.fail(1, "unsupported mode " + std::to_string(mode) + " (expected 0 or 1)");
    channel_major_ = mode == 0;
  }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    const torch::Tensor& input = spatial::single_input(*this, inputs);
    spatial::require_image(*this, input);
    const int64_t height = input.size(1), width = input.size(2);
    const int64_t out_channels = input.size(0) / (factor_ * factor_);
    if (out_channels == 0)
      layer_error(*this, "needs at least " + std::to_string(factor_ * factor_) + " channels, got shape " +
                               shape_text(input));
    const torch::Tensor used = input.narrow(0, 0, out_channels * factor_ * factor_);
    // Split the channels into (out channel, row offset, column offset), then interleave the offsets with rows and
    // columns.
    const torch::Tensor split =
        channel_major_ ? used.reshape({out_channels, factor_, factor_, height, width})
                       : used.reshape({factor_, factor_, out_channels, height, width}).permute({2, 0, 1, 3, 4});
    return {split.permute({0, 3, 1, 4, 2}).reshape({out_channels, height * factor_, width * factor_})};
  }

 private:
  int64_t factor_ = 1;
  bool channel_major_ = true;  // mode 0
};

}  // namespace pixel_shuffle

std::unique_ptr<Layer> make_pixel_shuffle_layer() { return std::make_unique<pixel_shuffle::PixelShuffle>(); }

}  // namespace uprez::ncnn
