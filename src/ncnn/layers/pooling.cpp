// ncnn's Pooling over (c, h, w) blobs: 0 pooling_type (0 max, 1 average), 1 kernel_w, 11 kernel_h, 2 stride_w,
// 12 stride_h, 3 pad_left, 14 pad_right, 13 pad_top, 15 pad_bottom, 4 global_pooling (a (c) result),
// 5 pad_mode (0 full: extra bottom/right padding so that every input pixel is covered, 1 valid: the pads only,
// 2 SAME_UPPER, 3 SAME_LOWER), 6 avgpool_count_include_pad, 7 adaptive_pooling with 8 out_w and 18 out_h (-233:
// the input's size). Max pooling pads with -FLT_MAX. Averages without the padding count the window's pixels
// inside [pad_top, h - pad_bottom) x [pad_left, w - pad_right) of the padded image, pads being the parameters
// (so with SAME padding, ncnn counts the added borders).
#include <limits>

#include "ncnn/layers/layers.h"
#include "ncnn/layers/spatial.h"

namespace uprez::ncnn {

namespace pooling {

enum class PoolingType { Max = 0, Average = 1 };
enum class PadMode { Full = 0, Valid = 1, SameUpper = 2, SameLower = 3 };

constexpr int kInputSize = -233;

class Pooling final : public Layer {
 public:
  void load_param(const ParamDict& params) override {
    const int type = params.get_int(0, 0);
    if (type != 0 && type != 1) params.fail(0, "unsupported pooling type " + std::to_string(type));
    type_ = static_cast<PoolingType>(type);
    kernel_w_ = params.get_int(1, 0);
    kernel_h_ = params.get_int(11, static_cast<int>(kernel_w_));
    stride_w_ = params.get_int(2, 1);
    stride_h_ = params.get_int(12, static_cast<int>(stride_w_));
    const int pad_left = params.get_int(3, 0);
    const int pad_top = params.get_int(13, pad_left);
    pads_ = {pad_top, params.get_int(15, pad_top), pad_left, params.get_int(14, pad_left)};
    global_ = params.get_int(4, 0) != 0;
    const int pad_mode = params.get_int(5, 0);
    if (pad_mode < 0 || pad_mode > 3) params.fail(5, "unsupported pad_mode " + std::to_string(pad_mode));
    pad_mode_ = static_cast<PadMode>(pad_mode);
    count_include_pad_ = params.get_int(6, 0) != 0;
    adaptive_ = params.get_int(7, 0) != 0;
    out_w_ = params.get_int(8, 0);
    out_h_ = params.get_int(18, static_cast<int>(out_w_));

    if (global_) return;
    if (adaptive_) {
      if ((out_w_ <= 0 && out_w_ != kInputSize) || (out_h_ <= 0 && out_h_ != kInputSize))
        params.fail(8, "adaptive output size must be positive or -233 (the input's size)");
      return;
    }
    if (kernel_w_ <= 0 || kernel_h_ <= 0) params.fail(1, "kernel size must be positive");
    if (stride_w_ <= 0 || stride_h_ <= 0) params.fail(2, "stride must be positive");
    if (pads_.top < 0 || pads_.bottom < 0 || pads_.left < 0 || pads_.right < 0)
      params.fail(3, "pads must not be negative");
  }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    const torch::Tensor& input = spatial::single_input(*this, inputs);
    spatial::require_image(*this, input);
    if (global_) return {type_ == PoolingType::Max ? input.amax({1, 2}) : input.mean({1, 2})};
    if (adaptive_) return {adaptive_pool(input)};
    return {window_pool(input)};
  }

 private:
  torch::Tensor adaptive_pool(const torch::Tensor& input) const {
    const int64_t out_h = out_h_ == kInputSize ? input.size(1) : out_h_;
    const int64_t out_w = out_w_ == kInputSize ? input.size(2) : out_w_;
    if (out_h == input.size(1) && out_w == input.size(2)) return input;
    if (type_ == PoolingType::Max) return std::get<0>(torch::adaptive_max_pool2d(input, {out_h, out_w}));
    return torch::adaptive_avg_pool2d(input, {out_h, out_w});
  }

  torch::Tensor window_pool(const torch::Tensor& input) const {
    const int64_t height = input.size(1), width = input.size(2);
    const spatial::Borders borders = padding_for(height, width);
    const float pad_value = type_ == PoolingType::Max ? std::numeric_limits<float>::lowest() : 0.f;
    const torch::Tensor padded = spatial::pad_constant(input, borders, pad_value);
    const int64_t padded_h = padded.size(1), padded_w = padded.size(2);
    if (padded_h < kernel_h_ || padded_w < kernel_w_)
      layer_error(*this, "input " + shape_text(input) + " is smaller than the kernel");

    const std::vector<int64_t> kernel{kernel_h_, kernel_w_}, stride{stride_h_, stride_w_};
    if (type_ == PoolingType::Max) return torch::max_pool2d(padded, kernel, stride);
    if (count_include_pad_) return torch::avg_pool2d(padded, kernel, stride, 0, false, true);

    // Window sums divided by how many of the window's pixels lie inside the counted region.
    const auto window_sums = [&](const torch::Tensor& image) {
      return torch::avg_pool2d(image, kernel, stride, 0, false, true, /*divisor_override=*/1);
    };
    const int64_t tail_h = pad_mode_ == PadMode::Full ? padded_h - height - pads_.top - pads_.bottom : 0;
    const int64_t tail_w = pad_mode_ == PadMode::Full ? padded_w - width - pads_.left - pads_.right : 0;
    const int64_t counted_h = padded_h - pads_.bottom - tail_h - pads_.top;
    const int64_t counted_w = padded_w - pads_.right - tail_w - pads_.left;
    const torch::Tensor counted = torch::zeros({1, padded_h, padded_w}, padded.options());
    if (counted_h > 0 && counted_w > 0)
      counted.narrow(1, pads_.top, counted_h).narrow(2, pads_.left, counted_w).fill_(1);
    return window_sums(padded).div_(window_sums(counted));
  }

  // The borders ncnn adds before pooling an image of `height` x `width`.
  spatial::Borders padding_for(int64_t height, int64_t width) const {
    switch (pad_mode_) {
      case PadMode::Full: {
        // Extra bottom/right padding so that the last window reaches the image's end.
        const auto tail = [](int64_t span, int64_t stride) { return span % stride ? stride - span % stride : 0; };
        spatial::Borders borders = pads_;
        const int64_t span_h = height + pads_.top + pads_.bottom - kernel_h_;
        const int64_t span_w = width + pads_.left + pads_.right - kernel_w_;
        if (span_h >= 0) borders.bottom += tail(span_h, stride_h_);
        if (span_w >= 0) borders.right += tail(span_w, stride_w_);
        return borders;
      }
      case PadMode::Valid: return pads_;
      case PadMode::SameUpper:
      case PadMode::SameLower:
        return spatial::same_borders(height, width, kernel_h_, kernel_w_, stride_h_, stride_w_,
                                     pad_mode_ == PadMode::SameUpper);
    }
    return pads_;
  }

  PoolingType type_ = PoolingType::Max;
  int64_t kernel_w_ = 0, kernel_h_ = 0, stride_w_ = 1, stride_h_ = 1;
  spatial::Borders pads_;
  bool global_ = false;
  PadMode pad_mode_ = PadMode::Full;
  bool count_include_pad_ = false;
  bool adaptive_ = false;
  int64_t out_w_ = 0, out_h_ = 0;
};

}  // namespace pooling

std::unique_ptr<Layer> make_pooling_layer() { return std::make_unique<pooling::Pooling>(); }

}  // namespace uprez::ncnn
